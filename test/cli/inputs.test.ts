import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { compat, tempDir } from '../helpers/fixtures.js';

const BIN = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'bin', 'run.js');

let dir: string;
let env: Record<string, string>;

/** The CLI with a deadline: an input it would wait on forever fails the test instead of hanging it. */
function run(args: string[], extra: Record<string, string> = {}, timeout = 20000) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env, ...extra }, timeout, maxBuffer: 1 << 20 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function expectOneLine(r: { status: number | null; signal: NodeJS.Signals | null; stderr: string }, ...parts: string[]) {
  expect(r.signal).toBeNull();
  expect(r.status).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  for (const p of parts) expect(lines[0]).toContain(p);
}

beforeAll(() => {
  dir = tempDir();
  env = { XDG_CACHE_HOME: join(dir, 'cache'), XDG_DATA_HOME: join(dir, 'data') };
  execFileSync('mkfifo', [join(dir, 'fifo')]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PATHS: Array<[string, Record<string, string>]> = [
  ['fast entry', {}],
  ['oclif', { COMPAT_NO_FASTPATH: '1' }],
];

describe('inputs that are not regular files are refused at once', () => {
  it.each(PATHS)('check /dev/zero (%s)', (_n, extra) => {
    expectOneLine(run(['check', '/dev/zero'], extra), '/dev/zero: is a character device, not a regular file');
  });

  it.each(PATHS)('check, gen and push of a FIFO (%s)', (_n, extra) => {
    const fifo = join(dir, 'fifo');
    expectOneLine(run(['check', fifo], extra), `${fifo}: is a FIFO, not a regular file`);
    expectOneLine(run(['gen', fifo], extra), `${fifo}: is a FIFO, not a regular file`);
    expectOneLine(run(['push', '--oci-layout', `${join(dir, 'layout')}:fifo`, fifo], extra), `${fifo}: is a FIFO, not a regular file`);
    expectOneLine(run(['push', '--oci-layout', `${join(dir, 'layout')}:fifo2`, join(dir, 'fifo'), '/usr/bin/xz'], extra), `${fifo}: is a FIFO, not a regular file`);
  });
});

describe('spec files are read by header and with a cap', () => {
  it.each(PATHS)('a spec file above the cap is refused, naming the file and the cap (%s)', (_n, extra) => {
    const big = join(dir, 'big.json');
    writeFileSync(big, '{"schemaVersion": 1');
    truncateSync(big, 65 * 1024 * 1024);
    expectOneLine(run(['check', big], extra), `${big}: `, '64 MiB');
  });

  it('a spec with leading white space is still pushed as a compat artifact', () => {
    expect(compat(['gen', '/usr/bin/xz', '-o', join(dir, 'xz.json')]).status).toBe(0);
    writeFileSync(join(dir, 'spaced.json'), `\n  \t${readFileSync(join(dir, 'xz.json'), 'utf8')}`);
    const r = run(['push', '--json', '--oci-layout', `${join(dir, 'layout')}:spaced`, join(dir, 'spaced.json')]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).kind).toBe('compat');
  });

  it('a large file that is not a spec is pushed ORAS-style, in bounded memory', () => {
    const huge = join(dir, 'huge.bin');
    // Sparse: 1.9 GB that takes no disk until pushed. A leading '{' must not make it a spec.
    const fd = openSync(huge, 'w');
    writeSync(fd, '{ not a spec');
    closeSync(fd);
    truncateSync(huge, 1900 * 1024 * 1024);
    const layout = join(dir, 'big-layout');
    const r = spawnSync('/usr/bin/time', ['-f', 'RSS_KB=%M', process.execPath, BIN, 'push', '--json', '--oci-layout', `${layout}:huge`, huge], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300000 });
    rmSync(huge, { force: true });
    rmSync(layout, { recursive: true, force: true });
    expect(r.stderr).not.toContain('Cannot create a string');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).kind).toBe('other');
    const rssKB = Number(/RSS_KB=(\d+)/.exec(r.stderr)?.[1]);
    expect(rssKB).toBeGreaterThan(0);
    expect(rssKB / 1024).toBeLessThan(250);
  }, 330000);
});

describe('output directories that cannot exist', () => {
  it.each(PATHS)('gen -o /proc/nope/x.json exits 2 at once (%s)', (_n, extra) => {
    expectOneLine(run(['gen', '/usr/bin/xz', '-o', '/proc/nope/x.json'], extra), '/proc/nope: cannot create directory');
    expect(existsSync('/proc/nope')).toBe(false);
  });

  it('push --oci-layout /proc/nope/layout:tag exits 2 at once', () => {
    writeFileSync(join(dir, 'note.txt'), 'hello\n');
    expectOneLine(run(['push', '--oci-layout', '/proc/nope/layout:t', join(dir, 'note.txt')]), '/proc/nope: cannot create directory');
  });
});
