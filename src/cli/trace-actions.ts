/** The bodies of `record`, `trace …` and `gen --from-trace/--run`; each returns the exit code. */
import type { Backend, EventSet } from '../trace/events.js';
import { warn } from './errors.js';
import { out, printJson } from './output.js';

export async function recordAction(command: string[], flags: { out?: string; outDir?: string; events: EventSet; backend: Backend }): Promise<number> {
  const { recordRun } = await import('../trace/record.js');
  const r = await recordRun({ command, out: flags.out, outDir: flags.outDir, events: flags.events, backend: flags.backend });
  if (r.processes === 0) warn(`${command[0]}: no process was recorded (a static or setuid program, or one that clears its environment?); try --backend strace`);
  return r.exit;
}

async function readLogs(paths: string[]) {
  const { readLog } = await import('../trace/log-file.js');
  return paths.map((p) => readLog(p));
}

export async function summaryAction(paths: string[], json: boolean): Promise<number> {
  const { summarize, renderSummary } = await import('../trace/summary.js');
  const sums = (await readLogs(paths)).map(summarize);
  if (json) await printJson(sums.length === 1 ? sums[0] : sums);
  else await out(sums.map(renderSummary).join('\n'));
  return 0;
}

export async function diffAction(a: string, b: string, json: boolean): Promise<number> {
  const { diffLogs, renderDiff } = await import('../trace/diff.js');
  const [la, lb] = await readLogs([a, b]);
  const d = diffLogs(la!, lb!);
  if (json) await printJson(d);
  else await out(renderDiff(d));
  return 0;
}

export async function matrixAction(paths: string[], flags: { csv?: boolean; svg?: string; json?: boolean }): Promise<number> {
  const { distanceMatrix, renderCsv, renderSvg, renderTable } = await import('../trace/matrix.js');
  const m = distanceMatrix(await readLogs(paths));
  if (flags.svg) {
    const { writeOutput } = await import('./output.js');
    await writeOutput(flags.svg, renderSvg(m));
  }
  if (flags.json) await printJson(m);
  else if (flags.csv) await out(renderCsv(m));
  else await out(renderTable(m));
  return 0;
}

export async function perfettoAction(paths: string[], output: string): Promise<number> {
  const { toChromeTrace } = await import('../trace/perfetto.js');
  const trace = toChromeTrace(await readLogs(paths));
  const { writeOutput } = await import('./output.js');
  await writeOutput(output, JSON.stringify(trace));
  return 0;
}

export async function markovAction(paths: string[], json: boolean): Promise<number> {
  const { TraceError } = await import('../trace/errors.js');
  if (paths.length < 2) throw new TraceError('trace markov', 'needs at least two logs (each run is predicted from the others)');
  const { leaveOneOut, renderMarkov } = await import('../trace/markov.js');
  const r = leaveOneOut(await readLogs(paths));
  if (json) await printJson(r);
  else await out(renderMarkov(r));
  return 0;
}

/** A binary is resolved as `compat deps` would (with the run's loader environment); a spec is checked on this node. */
export async function predictAction(subject: string, logPath: string, json: boolean): Promise<number> {
  const [log] = await readLogs([logPath]);
  const { comparePrediction, imageFor, renderPredict } = await import('../trace/predict.js');
  const { sniffInput } = await import('../artifact/spec.js');
  const { TraceError } = await import('../trace/errors.js');
  let predicted: import('../trace/predict.js').Side[];
  let program: string | undefined;
  if (sniffInput(subject).kind === 'json') {
    const { checkTarget } = await import('../artifact/spec-source.js');
    const { report } = await checkTarget(subject, { ldLibraryPath: log!.header.env?.LD_LIBRARY_PATH });
    const entry = report.binaries.find((b) => b.role === 'entry-point') ?? report.binaries[0];
    predicted = (entry?.libraries ?? []).filter((l) => l.path !== null).map((l) => ({ name: l.soname, path: l.path! }));
  } else {
    const { dependencyReport } = await import('../host/deps.js');
    const env = log!.header.env ?? {};
    const report = dependencyReport(subject, { ldLibraryPath: env.LD_LIBRARY_PATH, preload: env.LD_PRELOAD, tunables: env.GLIBC_TUNABLES, cwd: log!.header.cwd });
    predicted = report.trace?.objects ?? [];
    program = subject;
  }
  const img = imageFor(log!, program);
  if (!img) throw new TraceError(logPath, 'has no loader events (record with --events libs or all)');
  const r = comparePrediction(subject, predicted, log!, img);
  if (json) await printJson(r);
  else await out(renderPredict(r));
  return 0;
}

/**
 * `gen --from-trace`: the programs the logs ran (or the PATHs given) plus every object the runs
 * dlopen()ed, the latter marked `loadedAt: runtime`.
 */
export async function genFromTraceAction(logPaths: string[], paths: string[], flags: import('./actions.js').GenFlags): Promise<number> {
  const { realpathSync } = await import('node:fs');
  const { imagesOf, recordedTrace } = await import('../trace/images.js');
  const { TraceError } = await import('../trace/errors.js');
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return undefined;
    }
  };
  const wanted = new Set(paths.map((p) => real(p) ?? p));
  const programs = new Set<string>();
  const runtime = new Set<string>();
  for (const log of await readLogs(logPaths)) {
    const images = imagesOf(log).map((img) => recordedTrace(img)).filter((r) => r.trace.objects.length > 0);
    const chosen = wanted.size ? images.filter((r) => wanted.has(real(r.trace.executable) ?? r.trace.executable)) : images.slice(0, 1);
    if (chosen.length === 0) throw new TraceError(log.source, wanted.size ? 'no recorded process ran the given program' : 'has no loader events (record with --events libs or all)');
    for (const r of chosen) {
      programs.add(r.trace.executable);
      for (const p of r.runtime) {
        const rp = real(p);
        if (rp) runtime.add(rp);
      }
    }
  }
  const { genAction } = await import('./actions.js');
  return genAction([...(paths.length ? paths : programs), ...runtime], flags, { runtime });
}

/** `gen --run -- CMD`: record the command's libraries, then describe it from that recording. */
export async function genRunAction(command: string[], flags: import('./actions.js').GenFlags): Promise<number> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { recordRun } = await import('../trace/record.js');
  const dir = mkdtempSync(join(tmpdir(), 'compat-gen-run-'));
  try {
    const log = join(dir, 'run.jsonl');
    // One log whatever the launcher's rank: its name is ours.
    const env = { ...process.env };
    for (const k of ['OMPI_COMM_WORLD_RANK', 'PMI_RANK', 'PMIX_RANK', 'SLURM_PROCID', 'FLUX_TASK_RANK']) delete env[k];
    const r = await recordRun({ command, out: log, events: 'libs', backend: 'audit', env });
    if (r.exit !== 0) warn(`${command[0]}: exited with ${r.exit}; describing what it loaded until then`);
    return await genFromTraceAction([log], [], flags);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
