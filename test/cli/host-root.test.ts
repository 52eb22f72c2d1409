import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compat, expectOneLineError, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { makeRoot } from '../helpers/roots.js';

/**
 * `host show` and `host labels` on a root file system (a DaemonSet sees the node's / at /host): a
 * root whose libc stops at GLIBC_2.28, beside this node's 2.36.
 */
let dir: string;
let root: string;
let env: Record<string, string>;
let xz: string;

beforeAll(() => {
  dir = tempDir();
  env = isolatedEnv(dir);
  root = makeRoot(join(dir, 'root'), { libc: '2.28' });
  xz = join(dir, 'xz.json');
  expect(compat(['gen', '/usr/bin/xz', '-o', xz], { env }).status).toBe(0);
});

describe('host show --root', () => {
  it("shows the root's libraries, not the node's", () => {
    const mine = compat(['host', 'show', '--json', 'libc.so.6'], { env });
    expect(mine.status).toBe(0);
    expect(JSON.parse(mine.stdout)['libc.so.6'][0].versions).toContain('GLIBC_2.36');
    const r = compat(['host', 'show', '--json', '--root', root, 'libc.so.6'], { env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [c] = JSON.parse(r.stdout)['libc.so.6'];
    expect(c.versions).toContain('GLIBC_2.28');
    expect(c.versions).not.toContain('GLIBC_2.29');
  });

  it('names the root when a soname is not in it', () => {
    const r = compat(['host', 'show', '--root', root, 'libnothere.so.1'], { env });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`compat: libnothere.so.1: not found in ${root}\n`);
  });

  it('a --root that is no directory is one line, exit 2', () => {
    expectOneLineError(compat(['host', 'show', '--root', join(dir, 'nope')], { env }), /nope: is not a directory \(--root expects a root file system\)/);
  });
});

describe('host labels --root', () => {
  it('labels against the root: xz (GLIBC_2.34) runs on the node, not on the 2.28 root', () => {
    const node = compat(['host', 'labels', '--dry-run', '--json', xz], { env });
    expect(node.status).toBe(0);
    expect(JSON.parse(node.stdout).labels[0].compatible).toBe(true);
    const r = compat(['host', 'labels', '--dry-run', '--json', '--root', root, xz], { env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [label] = JSON.parse(r.stdout).labels;
    expect(label.compatible).toBe(false);
    // The same verdict check --root gives.
    const check = compat(['check', '--root', root, xz], { env });
    expect(check.status).toBe(1);
    expect(readFileSync(xz, 'utf8')).toContain('GLIBC_2.34');
  });
});
