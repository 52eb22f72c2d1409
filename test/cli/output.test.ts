import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, lstatSync, openSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compat, tempDir } from '../helpers/fixtures.js';

const BIN = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'bin', 'run.js');

let dir: string;
let env: Record<string, string>;

beforeAll(() => {
  dir = tempDir();
  env = { XDG_CACHE_HOME: join(dir, 'cache') };
  // Device nodes of our own (same majors/minors as /dev/full and /dev/null): a failing run must
  // not be able to damage the machine's /dev.
  execFileSync('mknod', [join(dir, 'full'), 'c', '1', '7']);
  execFileSync('mknod', [join(dir, 'null'), 'c', '1', '3']);
  expect(compat(['gen', '/usr/bin/xz', '-o', join(dir, 'xz.json')]).status).toBe(0);
  const spec = JSON.parse(readFileSync(join(dir, 'xz.json'), 'utf8'));
  spec.binaries[0].needed.push({ soname: 'libabsent.so.1', versions: [] });
  writeFileSync(join(dir, 'bad.json'), JSON.stringify(spec));
  execFileSync('mkdir', ['-p', join(dir, 'layout')]);
  expect(compat(['push', '--oci-layout', `${join(dir, 'layout')}:xz`, join(dir, 'xz.json')], { env }).status).toBe(0);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PATHS: Array<[string, Record<string, string>]> = [
  ['fast entry', {}],
  ['oclif', { COMPAT_NO_FASTPATH: '1' }],
];

/** The CLI with its stdout on an open file descriptor of our choosing. */
function withStdout(args: string[], fd: number, extra: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', env: { ...process.env, ...env, ...extra }, timeout: 60000 });
  return { status: r.status, signal: r.signal, stderr: r.stderr };
}

/** The CLI with a stdout pipe whose reader is gone before it writes a byte. */
function withClosedPipe(args: string[], extra: Record<string, string> = {}): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, ...extra } });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

describe('gen -o never replaces what is not a regular file', () => {
  it.each(PATHS)('a character device is written through, never replaced (%s)', (_n, extra) => {
    const full = compat(['gen', '/usr/bin/xz', '-o', join(dir, 'full')], { env: extra });
    expect(full.status).toBe(2);
    expect(full.stderr).toBe(`compat: ${join(dir, 'full')}: No space left on device\n`);
    expect(statSync(join(dir, 'full')).isCharacterDevice()).toBe(true);
    const nul = compat(['gen', '/usr/bin/xz', '-o', join(dir, 'null')], { env: extra });
    expect(nul.status).toBe(0);
    expect(statSync(join(dir, 'null')).isCharacterDevice()).toBe(true);
  });

  // A link of our own made as /dev/stdout is: a regression must not be able to replace the machine's.
  it.each(PATHS)('-o /dev/stdout (a link to /proc/self/fd/1) and /dev/fd/1 write to stdout as > does (%s)', (_n, extra) => {
    const link = join(dir, `to-stdout${extra.COMPAT_NO_FASTPATH ?? ''}`);
    symlinkSync('/proc/self/fd/1', link);
    for (const out of [link, '/dev/fd/1']) {
      const r = compat(['gen', '--name', 'fixed', '/usr/bin/xz', '-o', out], { env: extra });
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout).name).toBe('fixed');
    }
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('/proc/self/fd/1');
  });

  it('a link to a regular file keeps the link and replaces its target', () => {
    const target = join(dir, 'target.json');
    const link = join(dir, 'link.json');
    writeFileSync(target, 'old');
    symlinkSync('target.json', link);
    const r = compat(['gen', '--name', 'through-link', '/usr/bin/xz', '-o', link]);
    expect(r.status).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(target, 'utf8')).name).toBe('through-link');
  });

  it('a FIFO is written through to its reader', async () => {
    const fifo = join(dir, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    let got = '';
    reader.stdout.on('data', (d) => (got += d));
    const done = new Promise((r) => reader.on('close', r));
    const r = compat(['gen', '--name', 'fifo', '/usr/bin/xz', '-o', fifo]);
    // A FIFO replaced by a file would leave the reader waiting for a writer that never comes.
    if (!lstatSync(fifo).isFIFO()) reader.kill();
    await done;
    expect(r.status).toBe(0);
    expect(JSON.parse(got).name).toBe('fifo');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('a dangling link is refused in one line and nothing is created', () => {
    const link = join(dir, 'dangling.json');
    symlinkSync(join(dir, 'nowhere', 'x.json'), link);
    const r = compat(['gen', '/usr/bin/xz', '-o', link]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`compat: ${link}: is a dangling symbolic link\n`);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });
});

describe('a failed write to stdout is exit 2 and one line', () => {
  const commands: Array<[string, () => string[]]> = [
    ['gen', () => ['gen', '/usr/bin/xz']],
    ['check --json', () => ['check', '--json', join(dir, 'xz.json')]],
    ['check', () => ['check', join(dir, 'xz.json')]],
    ['deps', () => ['deps', '/usr/bin/xz']],
    ['list', () => ['list', '--oci-layout', join(dir, 'layout')]],
  ];
  const cases = commands.flatMap(([name, args]) => PATHS.map(([p, extra]) => [`${name} (${p})`, args, extra] as const));

  it.each(cases)('%s > /dev/full', (_n, args, extra) => {
    const fd = openSync(join(dir, 'full'), 'w');
    try {
      const r = withStdout(args(), fd, extra);
      expect(r.stderr).toBe('compat: stdout: No space left on device\n');
      expect(r.status).toBe(2);
    } finally {
      closeSync(fd);
    }
  });

  it.each(cases)('%s | (reader gone): quiet, the command\'s own exit code', async (_n, args, extra) => {
    const r = await withClosedPipe(args(), extra);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.each(PATHS)('an incompatible check keeps exit 1 when its reader is gone (%s)', async (_n, extra) => {
    const r = await withClosedPipe(['check', join(dir, 'bad.json')], extra);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
  });
});
