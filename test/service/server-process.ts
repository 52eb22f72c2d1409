import { type ChildProcess, execSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
export const BIN = join(ROOT, 'bin', 'run.js');

/**
 * The global setup builds dist/ only when it is missing altogether; a dist/ built before `serve`
 * existed is completed here without removing anything (other test files use it concurrently).
 */
export function ensureServeBuilt(): void {
  const manifest = join(ROOT, 'oclif.manifest.json');
  const ok = existsSync(join(ROOT, 'dist/commands/serve.js')) && existsSync(join(ROOT, 'dist/service/index-worker.js')) && existsSync(manifest) && readFileSync(manifest, 'utf8').includes('"serve"');
  if (!ok) execSync('npx tsc -p tsconfig.build.json && npx oclif manifest', { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

export interface ServerProcess {
  proc: ChildProcess;
  /** The address from the ready line (`listening on ADDRESS`). */
  address: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (null if killed by a signal) and how long after the call it came. */
  exited: (timeoutMs?: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** Resolves once stderr matches `re` (or rejects after timeoutMs). */
  waitForLog: (re: RegExp, timeoutMs?: number) => Promise<string>;
  kill: () => void;
}

/** Spawns `node bin/run.js serve --address 127.0.0.1:0 ARGS…` and waits for its ready line. */
export async function spawnServer(args: string[], env: Record<string, string>, timeoutMs = 30000): Promise<ServerProcess> {
  const proc = spawn(process.execPath, [BIN, 'serve', ...(args.includes('--address') ? [] : ['--address', '127.0.0.1:0']), ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const until = <T>(what: () => T | undefined, ms: number, label: string) =>
    new Promise<T>((resolve, reject) => {
      const t0 = Date.now();
      const tick = () => {
        const v = what();
        if (v !== undefined) return resolve(v);
        if (proc.exitCode !== null || proc.signalCode !== null) return reject(new Error(`server exited (${proc.exitCode ?? proc.signalCode}) before ${label}\nstdout: ${out}\nstderr: ${err}`));
        if (Date.now() - t0 > ms) return reject(new Error(`no ${label} within ${ms} ms\nstdout: ${out}\nstderr: ${err}`));
        setTimeout(tick, 10);
      };
      tick();
    });
  const address = await until(() => /listening on (\S+)/.exec(out)?.[1], timeoutMs, 'ready line').catch((e) => {
    proc.kill('SIGKILL');
    throw e;
  });
  return {
    proc,
    address,
    stdout: () => out,
    stderr: () => err,
    exited: async (ms = 10000) => {
      const t0 = Date.now();
      const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`server still running ${ms} ms later\nstderr: ${err}`)), ms).unref());
      const r = await Promise.race([exit, timer]);
      return { code: r.code, signal: r.signal, ms: r.at - t0 };
    },
    waitForLog: (re, ms = 10000) => until(() => re.exec(err)?.[0], ms, `log line matching ${re}`),
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}
