import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { compat, tempDir } from '../helpers/fixtures.js';

const BIN = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'bin', 'run.js');

// The tests run as root, for whom chmod 000 changes nothing: the CLI runs as nobody instead.
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

let dir: string;

function asNobody(args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync('setpriv', [...NOBODY, process.execPath, BIN, ...args], { encoding: 'utf8', cwd: dir, env: { ...process.env, HOME: dir, XDG_CACHE_HOME: join(dir, 'cache'), ...extra }, timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  dir = tempDir();
  chmodSync(dir, 0o777);
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'locked'), { recursive: true });
  copyFileSync('/usr/bin/xz', join(tree, 'xz'));
  copyFileSync('/bin/true', join(tree, 'secret'));
  copyFileSync('/bin/true', join(tree, 'locked', 'hidden'));
  chmodSync(tree, 0o755);
  chmodSync(join(tree, 'xz'), 0o755);
  chmodSync(join(tree, 'secret'), 0o000);
  chmodSync(join(tree, 'locked'), 0o000);
  mkdirSync(join(dir, 'empty'));
  chmodSync(join(dir, 'empty'), 0o755);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PATHS: Array<[string, Record<string, string>]> = [
  ['fast entry', {}],
  ['oclif', { COMPAT_NO_FASTPATH: '1' }],
];

describe('gen DIR with files it cannot read', () => {
  it.each(PATHS)('warns naming each one, writes nothing and exits 2 (%s)', (_n, extra) => {
    const tree = join(dir, 'tree');
    const out = join(dir, `out${extra.COMPAT_NO_FASTPATH ?? ''}.json`);
    const r = asNobody(['gen', tree, '-o', out], extra);
    expect(r.status).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toEqual([
      `compat: warning: ${join(tree, 'locked')}: permission denied`,
      `compat: warning: ${join(tree, 'secret')}: permission denied`,
      `compat: ${tree}: 2 files could not be read (pass --skip-unreadable to describe the rest)`,
    ]);
    expect(existsSync(out)).toBe(false);
    const toStdout = asNobody(['gen', tree], extra);
    expect(toStdout.status).toBe(2);
    expect(toStdout.stdout).toBe('');
  });

  it.each(PATHS)('--skip-unreadable still warns, describes the rest and exits 0 (%s)', (_n, extra) => {
    const tree = join(dir, 'tree');
    const r = asNobody(['gen', '--skip-unreadable', tree], extra);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`compat: warning: ${join(tree, 'locked')}: permission denied (skipped)\ncompat: warning: ${join(tree, 'secret')}: permission denied (skipped)\n`);
    expect(JSON.parse(r.stdout).binaries.map((b: { path: string }) => b.path)).toEqual(['xz']);
  });
});

describe('host scan says what it found in each --path', () => {
  it('a missing directory and an empty one are warnings naming them', () => {
    const env = { XDG_CACHE_HOME: join(dir, 'cache') };
    const missing = compat(['host', 'scan', '--path', join(dir, 'nonexistent'), '--path', join(dir, 'empty')], { env });
    expect(missing.status).toBe(0);
    expect(missing.stderr).toBe(`compat: warning: ${join(dir, 'nonexistent')}: no such directory\ncompat: warning: ${join(dir, 'empty')}: no libraries found\n`);
    const fine = compat(['host', 'scan', '--path', '/usr/lib/x86_64-linux-gnu'], { env });
    expect(fine.status).toBe(0);
    expect(fine.stderr).toBe('');
  });
});
