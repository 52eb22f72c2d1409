/**
 * Symbol binding, one fixture per rule (test/fixtures/loader/symbols-*): each is built with gcc,
 * run for real, described with `compat gen` and checked with `compat check`; the two must agree.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { checkSpec } from '../../src/artifact/check-spec.js';
import { generateSpec } from '../../src/artifact/gen.js';
import { scanHost } from '../../src/host/host-index.js';
import { compat, gcc, isolatedEnv, runBinary, tempDir } from '../helpers/fixtures.js';
import { loaderFixture } from '../helpers/loader-fixture.js';

const FIXTURES = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'fixtures', 'loader');
const ORIGIN = '-Wl,-rpath,$ORIGIN';

interface Reason {
  kind: string;
  class?: string;
  symbol?: string;
  version?: string;
  object?: string;
  lazy?: boolean;
  message: string;
}

let env: Record<string, string>;
beforeAll(() => {
  env = isolatedEnv(tempDir());
});

/** A fresh copy of a fixture's sources. */
function fixture(name: string): string {
  const dir = tempDir(`compat-${name}-`);
  for (const f of readdirSync(join(FIXTURES, name))) copyFileSync(join(FIXTURES, name, f), join(dir, f));
  return dir;
}

function shared(dir: string, out: string, src: string, extra: string[] = []): void {
  gcc(dir, ['-shared', '-fPIC', '-o', out, src, `-Wl,-soname,${out}`, ...extra]);
}

/** compat's verdict on `exe`: gen a spec, then check it on this node. */
function check(dir: string, exe: string): { status: number | null; reasons: Reason[] } {
  const spec = join(dir, `${exe}.spec.json`);
  const g = compat(['gen', join(dir, exe), '-o', spec], { env });
  expect(g.status).toBe(0);
  const r = compat(['check', '--json', spec], { env });
  const doc = JSON.parse(r.stdout) as { compatible: boolean; reasons: Reason[] };
  expect(doc.compatible).toBe(r.status === 0);
  return { status: r.status, reasons: doc.reasons };
}

describe('symbol binding agrees with the loader', () => {
  it('symbols-missing-function-lazy: starts, dies at the call; compat: not compatible, lazy', () => {
    const dir = fixture('symbols-missing-function-lazy');
    shared(dir, 'libx.so', 'lib-full.c');
    gcc(dir, ['-o', 'main', 'main.c', '-L.', '-lx', ORIGIN, '-Wl,-z,lazy']);
    shared(dir, 'libx.so', 'lib-without-f.c');
    const run = runBinary(join(dir, 'main'));
    expect(run.stdout).toBe('started 1\n');
    expect(run.status).toBe(127);
    expect(run.stderr).toMatch(/symbol lookup error: .*undefined symbol: f\n/);
    const c = check(dir, 'main');
    expect(c.status).toBe(1);
    expect(c.reasons).toEqual([expect.objectContaining({ kind: 'missing-symbol', class: 'symbol', symbol: 'f', object: 'main', lazy: true })]);
    expect(c.reasons[0]!.message).toMatch(/undefined symbol: f\b/);
  });

  it('symbols-missing-function-now: with -z now it dies before main; compat: not lazy', () => {
    const dir = fixture('symbols-missing-function-now');
    shared(dir, 'libx.so', 'lib-full.c');
    gcc(dir, ['-o', 'main', 'main.c', '-L.', '-lx', ORIGIN, '-Wl,-z,now']);
    shared(dir, 'libx.so', 'lib-without-f.c');
    const run = runBinary(join(dir, 'main'));
    expect(run.stdout).toBe('');
    expect(run.status).toBe(127);
    expect(run.stderr).toMatch(/symbol lookup error: .*undefined symbol: f\n/);
    const c = check(dir, 'main');
    expect(c.status).toBe(1);
    expect(c.reasons).toEqual([expect.objectContaining({ kind: 'missing-symbol', symbol: 'f' })]);
    expect(c.reasons[0]!.lazy).toBeUndefined();
  });

  it('symbols-missing-data: a data symbol fails at start even under lazy binding', () => {
    const dir = fixture('symbols-missing-data');
    shared(dir, 'libx.so', 'lib-full.c');
    gcc(dir, ['-o', 'main', 'main.c', '-L.', '-lx', ORIGIN, '-Wl,-z,lazy']);
    shared(dir, 'libx.so', 'lib-without-d.c');
    const run = runBinary(join(dir, 'main'));
    expect(run.stdout).toBe('');
    expect(run.status).toBe(127);
    expect(run.stderr).toMatch(/undefined symbol: d\b/);
    const c = check(dir, 'main');
    expect(c.status).toBe(1);
    expect(c.reasons).toEqual([expect.objectContaining({ kind: 'missing-symbol', symbol: 'd' })]);
    expect(c.reasons[0]!.lazy).toBeUndefined();
  });

  it('symbols-other-version: f only under FOO_2.0 does not answer f@FOO_1.0', () => {
    const dir = fixture('symbols-other-version');
    shared(dir, 'libx.so', 'lib.c', ['-Wl,--version-script=v1.map']);
    gcc(dir, ['-o', 'main', 'main.c', '-L.', '-lx', ORIGIN, '-Wl,-z,now']);
    shared(dir, 'libx.so', 'lib.c', ['-Wl,--version-script=v2.map']);
    const run = runBinary(join(dir, 'main'));
    expect(run.status).toBe(127);
    expect(run.stderr).toMatch(/undefined symbol: f, version FOO_1\.0\n/);
    const c = check(dir, 'main');
    expect(c.status).toBe(1);
    expect(c.reasons).toEqual([expect.objectContaining({ kind: 'missing-symbol', symbol: 'f', version: 'FOO_1.0' })]);
    expect(c.reasons[0]!.message).toMatch(/undefined symbol: f, version FOO_1\.0/);
  });

  it('symbols-hidden-version: the hidden f@FOO_1.0 binds by exact version only', () => {
    const dir = fixture('symbols-hidden-version');
    shared(dir, 'libx.so', 'lib-link.c', ['-Wl,--version-script=link.map']);
    gcc(dir, ['-o', 'exact', 'main.c', '-L.', '-lx', ORIGIN, '-Wl,-z,now']);
    shared(dir, 'libx.so', 'lib-link.c');
    gcc(dir, ['-o', 'unversioned', 'main.c', '-L.', '-lx', ORIGIN, '-Wl,-z,now']);
    shared(dir, 'libx.so', 'lib-run.c', ['-Wl,--version-script=run.map']);
    const exact = runBinary(join(dir, 'exact'));
    expect(exact).toEqual({ status: 2, stdout: 'started 1\n', stderr: '' });
    const unversioned = runBinary(join(dir, 'unversioned'));
    expect(unversioned.status).toBe(127);
    expect(unversioned.stderr).toMatch(/undefined symbol: f\n/);
    expect(check(dir, 'exact')).toEqual({ status: 0, reasons: [] });
    const c = check(dir, 'unversioned');
    expect(c.status).toBe(1);
    expect(c.reasons).toEqual([expect.objectContaining({ kind: 'missing-symbol', symbol: 'f' })]);
  });

  it('symbols-interposition: the executable and an earlier library are in every object\'s scope', () => {
    const dir = fixture('symbols-interposition');
    shared(dir, 'liba.so', 'liba.c');
    shared(dir, 'libb.so', 'libb-link.c');
    gcc(dir, ['-o', 'main', 'main.c', '-L.', '-la', '-lb', ORIGIN, '-rdynamic', '-Wl,-z,now']);
    gcc(dir, ['-o', 'hidden', 'main.c', '-L.', '-la', '-lb', ORIGIN, '-Wl,-z,now']);
    // libb as it runs needs from_exe (only the executable has it) and from_a (only liba, which it does not need).
    shared(dir, 'libb.so', 'libb.c', ['-Wl,-z,now']);
    expect(runBinary(join(dir, 'main'))).toEqual({ status: 0, stdout: 'started 3\n', stderr: '' });
    const hidden = runBinary(join(dir, 'hidden'));
    expect(hidden.status).toBe(127);
    expect(hidden.stderr).toMatch(/libb\.so: undefined symbol: from_exe\n/);
    expect(check(dir, 'main')).toEqual({ status: 0, reasons: [] });
    const c = check(dir, 'hidden');
    expect(c.status).toBe(1);
    expect(c.reasons).toEqual([expect.objectContaining({ kind: 'missing-symbol', symbol: 'from_exe', object: 'libb.so' })]);
  });

  it('symbols-weak-undefined: nothing defines the weak references and the program runs', () => {
    const dir = fixture('symbols-weak-undefined');
    gcc(dir, ['-o', 'main', 'main.c', '-Wl,-z,now']);
    expect(runBinary(join(dir, 'main'))).toEqual({ status: 0, stdout: 'started 0\n', stderr: '' });
    expect(check(dir, 'main')).toEqual({ status: 0, reasons: [] });
  });

  it('symbols-unversioned-provider: no version information, then check_match asserts', () => {
    const dir = fixture('symbols-unversioned-provider');
    shared(dir, 'libx.so', 'lib.c', ['-Wl,--version-script=v1.map']);
    gcc(dir, ['-o', 'main', 'main.c', '-L.', '-lx', ORIGIN, '-Wl,-z,lazy']);
    shared(dir, 'libx.tmp', 'lib.c', ['-Wl,-soname,libx.so']);
    renameSync(join(dir, 'libx.tmp'), join(dir, 'libx.so'));
    const run = runBinary(join(dir, 'main'));
    expect(run.stderr).toMatch(/libx\.so: no version information available \(required by .*main\)/);
    expect(run.stderr).toMatch(/check_match: Assertion/);
    expect(run.status).toBe(127);
    const c = check(dir, 'main');
    expect(c.status).toBe(1);
    expect(c.reasons.map((r) => [r.kind, r.symbol, r.version]).sort()).toEqual([
      ['missing-symbol', 'f', 'FOO_1.0'],
      ['missing-symbol', 'g', 'FOO_1.0'],
    ]);
    expect(c.reasons[0]!.message).toMatch(/no version information available/);
  });
});

describe('a plugin checked on its own (test/fixtures/loader/plugin-host-symbols)', () => {
  it('leaves what its loading program defines to that program: a warning, not a failure, and the real run works', () => {
    const d = loaderFixture('plugin-host-symbols');
    mkdirSync(join(d, 'tree'));
    gcc(d, ['-shared', '-fPIC', '-o', 'tree/libplugin.so', 'plugin.c']);
    gcc(d, ['-rdynamic', '-o', 'host', 'host.c']);
    const run = spawnSync(join(d, 'host'), [join(d, 'tree/libplugin.so')], { encoding: 'utf8', timeout: 10000 });
    expect([run.status, run.stdout]).toEqual([0, '41\n']);
    const report = checkSpec(generateSpec([join(d, 'tree')]), scanHost({ indexFile: join(d, 'index.json') }), undefined, { preloadFile: null });
    expect(report.reasons).toEqual([]);
    expect(report.compatible).toBe(true);
    expect(report.warnings).toEqual([expect.objectContaining({ class: 'symbol', binary: 'libplugin.so', message: 'libplugin.so: undefined symbols left to the program that loads it: host_api' })]);
  });
});
