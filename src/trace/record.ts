import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, delimiter, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeFile } from '../host/elf.js';
import { makeDirs } from '../host/make-dirs.js';
import { TraceError } from './errors.js';
import { nativeModule } from './native-module.js';
import { runPassingThrough } from './pass-through.js';
import type { Backend, EventSet, LogHeader, TraceEvent } from './events.js';
import { parseJsonLines, sortEvents, writeLog } from './log-file.js';
import { expandModuleLog } from './module-log.js';
import { readStraceDir, straceArgs } from './strace.js';

export interface RecordOptions {
  command: string[];
  out?: string;
  outDir?: string;
  events: EventSet;
  backend: Backend;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RecordResult {
  exit: number;
  /** The logs written. */
  files: string[];
  processes: number;
  events: number;
}

const RANK_VARS = ['OMPI_COMM_WORLD_RANK', 'PMI_RANK', 'PMIX_RANK', 'SLURM_PROCID', 'FLUX_TASK_RANK'];

/** The MPI rank the launcher gave this process, if any. */
export function rankOf(env: NodeJS.ProcessEnv): string | undefined {
  for (const v of RANK_VARS) if (env[v] !== undefined && /^\d+$/.test(env[v]!)) return env[v];
  return undefined;
}

/** The file execvp would run for `cmd`. */
export function findProgram(cmd: string, env: NodeJS.ProcessEnv, cwd: string): string {
  if (cmd.includes('/')) return resolve(cwd, cmd);
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const p = resolve(cwd, dir || '.', cmd);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here: the next PATH entry
    }
  }
  throw new TraceError(cmd, 'command not found on PATH');
}

/**
 * Why the loader will not see this program (so LD_AUDIT/LD_PRELOAD record nothing): a static
 * binary has no loader; a setuid or setgid one runs in secure mode, which drops both variables.
 */
export function blindSpot(program: string): string | undefined {
  const st = statSync(program);
  if (st.mode & 0o6000) return `is ${st.mode & 0o4000 ? 'setuid' : 'setgid'}: the loader ignores LD_AUDIT and LD_PRELOAD in it`;
  const kind = probeFile(program);
  if (kind.kind === 'elf' && !kind.elf.interpreter) return 'is a static binary: no loader runs, so nothing is recorded by the audit module';
  return undefined;
}

function loaderEnv(env: NodeJS.ProcessEnv): LogHeader['env'] {
  const out: NonNullable<LogHeader['env']> = {};
  for (const k of ['LD_LIBRARY_PATH', 'LD_PRELOAD', 'GLIBC_TUNABLES'] as const) if (env[k] !== undefined) out[k] = env[k];
  return out;
}

function header(opts: RecordOptions, start: Date, exit: number, rank: string | undefined, env: LogHeader['env']): LogHeader {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return {
    compatTrace: 1,
    command: opts.command,
    cwd: opts.cwd ?? process.cwd(),
    host: hostname(),
    ...(report?.header?.glibcVersionRuntime ? { glibc: report.header.glibcVersionRuntime } : {}),
    start: start.toISOString(),
    compatVersion: compatVersion(),
    events: opts.events,
    backend: opts.backend,
    ...(rank !== undefined ? { rank } : {}),
    ...(env && Object.keys(env).length ? { env } : {}),
    exit,
  };
}

function compatVersion(): string | undefined {
  try {
    return (JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

function readModuleLogs(dir: string): TraceEvent[] {
  const out: TraceEvent[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.jsonl')) continue;
    for (const e of expandModuleLog(parseJsonLines(readFileSync(join(dir, f), 'utf8'), f), f)) out.push(e as TraceEvent);
  }
  return out;
}

function prependList(value: string | undefined, item: string, sep: string): string {
  return value ? `${item}${sep}${value}` : item;
}

/** Where the log(s) go: one file, or one per process in a directory; the rank goes into the name. */
function outputs(opts: RecordOptions, rank: string | undefined, cwd: string, pid: number): { dir: string; file?: string; name: (pid: number) => string } {
  const tag = rank !== undefined ? `.rank${rank}` : '';
  const cmd = basename(opts.command[0] ?? 'run');
  if (opts.outDir) {
    const dir = resolve(cwd, opts.outDir);
    return { dir, name: (p) => join(dir, `${cmd}${tag}.${p}.jsonl`) };
  }
  if (opts.out) {
    const file = resolve(cwd, opts.out);
    const ext = extname(file);
    const withRank = rank !== undefined ? `${file.slice(0, file.length - ext.length)}${tag}${ext}` : file;
    return { dir: dirname(withRank), file: withRank, name: () => withRank };
  }
  const file = join(cwd, `compat-trace.${cmd}${tag}.${pid}.jsonl`);
  return { dir: cwd, file, name: () => file };
}

/**
 * Runs a command with the recorder in its environment (each process it starts inherits it), then
 * writes the log(s): a header line and every process's events in time order.
 */
export async function recordRun(opts: RecordOptions): Promise<RecordResult> {
  const env = { ...(opts.env ?? process.env) };
  const given = loaderEnv(env);
  const cwd = opts.cwd ?? process.cwd();
  if (opts.command.length === 0) throw new TraceError('record', 'give the command to record after --');
  const program = findProgram(opts.command[0]!, env, cwd);
  const rank = rankOf(env);
  let runFile = program;
  let runArgs = opts.command.slice(1);
  if (opts.backend === 'audit') {
    const blind = blindSpot(program);
    if (blind) throw new TraceError(program, `${blind}; record it with --backend strace`);
    if (!existsSync(nativeModule())) throw new TraceError('record', 'the recorder module was not built (no C compiler when compat was built): install gcc (apt-get install gcc), run npm run build, or use --backend strace');
  }
  const target = outputs(opts, rank, cwd, process.pid);
  makeDirs(target.dir);
  const staging = mkdtempSync(join(target.dir, '.compat-record-'));
  try {
    if (opts.backend === 'strace') {
      runArgs = [...straceArgs(opts.events, join(staging, 'strace')), '--', program, ...runArgs];
      runFile = 'strace';
    } else {
      const mod = nativeModule();
      env.COMPAT_TRACE_DIR = staging;
      if (opts.events !== 'files') env.LD_AUDIT = prependList(env.LD_AUDIT, mod, ':');
      if (opts.events !== 'libs') env.LD_PRELOAD = prependList(env.LD_PRELOAD, mod, ' ');
    }
    const start = new Date();
    const exit = await runPassingThrough(runFile, runArgs, { env, cwd: opts.cwd, argv0: opts.backend === 'strace' ? undefined : opts.command[0] });
    const events = sortEvents(opts.backend === 'strace' ? readStraceDir(staging, 'strace') : readModuleLogs(staging));
    const head = header(opts, start, exit, rank, given);
    const pids = [...new Set(events.map((e) => e.pid))];
    const files: string[] = [];
    if (target.file) {
      writeLog(target.file, head, events);
      files.push(target.file);
    } else {
      for (const pid of pids) {
        const f = target.name(pid);
        writeLog(f, { ...head, pid }, events.filter((e) => e.pid === pid));
        files.push(f);
      }
    }
    return { exit, files, processes: pids.length, events: events.length };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
