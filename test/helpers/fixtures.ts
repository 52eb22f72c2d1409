import { expect } from '@jest/globals';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const made = new Set<string>();

/** A fresh directory under the OS temp dir, removed after the test file (test/helpers/cleanup.ts). */
export function tempDir(prefix = 'compat-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/**
 * The environment of a CLI run that sees none of the machine's own state: store, caches,
 * credentials (docker's, podman's, the keychain's) all live under `dir`.
 */
export function isolatedEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOME: dir,
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    DOCKER_CONFIG: join(dir, 'docker'),
    REGISTRY_AUTH_FILE: join(dir, 'no-auth.json'),
    DBUS_SESSION_BUS_ADDRESS: '',
    ...extra,
  };
}

/** A usage or input error as the contract has it: exit 2, exactly one line on stderr. */
export function expectOneLineError(r: { status: number | null; stderr: string }, pattern: RegExp): void {
  expect(r.status).toBe(2);
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr.trimEnd()).toMatch(pattern);
}

export function removeTempDirs(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}

/** Writes `files` (name → content) under `dir`, creating parents. */
export function writeTree(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
}

/** Runs gcc; throws with its stderr when it fails so a broken fixture names itself. */
export function gcc(cwd: string, args: string[]): void {
  execFileSync('gcc', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a built fixture for real: the loader's verdict the check must match. */
export function runBinary(path: string, env: Record<string, string> = {}): RunResult {
  const r = spawnSync(path, [], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 10000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const BIN = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'bin', 'run.js');

/** The real CLI as a user runs it (needs `npm run build`). */
export function compat(args: string[], opts: { env?: Record<string, string>; cwd?: string; input?: string } = {}): RunResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: opts.cwd, input: opts.input, env: { ...process.env, ...opts.env }, timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI without blocking this process: needed when the test itself serves the registry it talks to. */
/** The command users run (bin/compat, a shell launcher that runs the `node` on PATH). */
const LAUNCHER = join(dirname(BIN), 'compat');

/** `launcher`: run through bin/compat, as users do, with this test's node first on PATH. */
export function compatAsync(args: string[], opts: { env?: Record<string, string>; input?: string; launcher?: boolean } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...opts.env };
    const child = opts.launcher ? spawn(LAUNCHER, args, { env: { ...env, PATH: `${dirname(process.execPath)}:${env.PATH ?? ''}` } }) : spawn(process.execPath, [BIN, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
