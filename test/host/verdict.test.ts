import { beforeAll, describe, expect, it } from '@jest/globals';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { checkSpec } from '../../src/artifact/check-spec.js';
import { generateSpec } from '../../src/artifact/gen.js';
import type { CheckReport } from '../../src/host/check.js';
import { type HostIndex, scanHost } from '../../src/host/host-index.js';
import { gcc, runBinary, tempDir, writeTree } from '../helpers/fixtures.js';

/**
 * Each fixture is checked and then actually run: the verdict must be what the loader does.
 */
let dir: string;
let index: HostIndex;

function verdict(paths: string[], ldLibraryPath?: string): CheckReport {
  return checkSpec(generateSpec(paths), index, ldLibraryPath);
}

beforeAll(() => {
  dir = tempDir();
  index = scanHost({ indexFile: join(dir, 'index.json') });
  writeTree(dir, {
    'foo1.c': 'int foo1(void) { return 1; }\n',
    'foo2.c': 'int foo1(void) { return 1; }\nint foo2(void) { return 2; }\n',
    'foo1.map': 'FOO_1.0 { global: foo1; local: *; };\n',
    'foo2.map': 'FOO_1.0 { global: foo1; local: *; };\nFOO_2.0 { global: foo2; } FOO_1.0;\n',
    'usefoo2.c': '#include <stdio.h>\nint foo2(void);\nint main(void) { printf("%d\\n", foo2()); return 0; }\n',
    'hello.c': '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n',
    'bar.c': 'int bar(void) { return 3; }\n',
    'usebar.c': '#include <stdio.h>\nint bar(void);\nint main(void) { printf("%d\\n", bar()); return 0; }\n',
  });
  mkdirSync(join(dir, 'v1'));
  mkdirSync(join(dir, 'v2'));
  gcc(dir, ['-shared', '-fPIC', '-o', 'v1/libfoo.so.1', '-Wl,-soname,libfoo.so.1', '-Wl,--version-script=foo1.map', 'foo1.c']);
  gcc(dir, ['-shared', '-fPIC', '-o', 'v2/libfoo.so.1', '-Wl,-soname,libfoo.so.1', '-Wl,--version-script=foo2.map', 'foo2.c']);
  gcc(dir, ['-o', 'usefoo2', 'usefoo2.c', 'v2/libfoo.so.1']);
  gcc(dir, ['-o', 'hello', 'hello.c']);
});

function expectAgreement(report: CheckReport, run: { status: number | null; stderr: string }) {
  expect(report.compatible).toBe(run.status === 0);
}

describe('check verdicts match running the binary', () => {
  it('a plain hello world is compatible and runs', () => {
    const report = verdict([join(dir, 'hello')]);
    const run = runBinary(join(dir, 'hello'));
    expect(run.stdout).toBe('hello\n');
    expect(report.reasons).toEqual([]);
    expectAgreement(report, run);
  });

  it('a symbol version the host lacks (FOO_2.0, host has only FOO_1.0) is incompatible and fails to run', () => {
    const ld = join(dir, 'v1');
    const report = verdict([join(dir, 'usefoo2')], ld);
    const run = runBinary(join(dir, 'usefoo2'), { LD_LIBRARY_PATH: ld });
    expect(run.stderr).toContain("version `FOO_2.0' not found");
    expect(report.compatible).toBe(false);
    expect(report.reasons).toHaveLength(1);
    expect(report.reasons[0]).toMatchObject({ kind: 'missing-version', class: 'version', soname: 'libfoo.so.1', version: 'FOO_2.0' });
    expect(report.reasons[0]!.message).toContain(`${ld}/libfoo.so.1 has up to FOO_1.0`);
    expectAgreement(report, run);
  });

  it('the same binary with the library that defines FOO_2.0 is compatible and runs', () => {
    const ld = join(dir, 'v2');
    const report = verdict([join(dir, 'usefoo2')], ld);
    const run = runBinary(join(dir, 'usefoo2'), { LD_LIBRARY_PATH: ld });
    expect(run.stdout).toBe('2\n');
    expect(report.reasons).toEqual([]);
    expectAgreement(report, run);
  });

  it('a missing library is incompatible and fails to run', () => {
    const d = join(dir, 'missing');
    mkdirSync(join(d, 'lib'), { recursive: true });
    gcc(dir, ['-shared', '-fPIC', '-o', 'missing/lib/libgone.so.1', '-Wl,-soname,libgone.so.1', 'bar.c']);
    gcc(dir, ['-o', 'missing/app', 'usebar.c', 'missing/lib/libgone.so.1']);
    rmSync(join(d, 'lib'), { recursive: true });
    const report = verdict([join(d, 'app')]);
    const run = runBinary(join(d, 'app'));
    expect(run.stderr).toContain('libgone.so.1: cannot open shared object file');
    expect(report.reasons).toEqual([expect.objectContaining({ kind: 'missing-library', class: 'soname', soname: 'libgone.so.1' })]);
    expectAgreement(report, run);
  });

  it('a library present only for another machine is skipped as the loader skips it', () => {
    const d = join(dir, 'foreign');
    mkdirSync(join(d, 'lib'), { recursive: true });
    gcc(dir, ['-shared', '-fPIC', '-o', 'foreign/lib/libbar.so.1', '-Wl,-soname,libbar.so.1', 'bar.c']);
    gcc(dir, ['-o', 'foreign/app', 'usebar.c', 'foreign/lib/libbar.so.1']);
    // Rewrite e_machine (offset 18) to EM_AARCH64: the same library, built for another machine.
    const fd = openSync(join(d, 'lib/libbar.so.1'), 'r+');
    writeSync(fd, Buffer.from([183, 0]), 0, 2, 18);
    closeSync(fd);
    const ld = join(d, 'lib');
    const report = verdict([join(d, 'app')], ld);
    const run = runBinary(join(d, 'app'), { LD_LIBRARY_PATH: ld });
    expect(run.status).not.toBe(0);
    expect(report.reasons).toEqual([expect.objectContaining({ kind: 'wrong-architecture', class: 'machine', soname: 'libbar.so.1' })]);
    expect(report.reasons[0]!.message).toContain(`${ld}/libbar.so.1`);
    expectAgreement(report, run);
  });

  it('a library bundled through $ORIGIN/../lib travels with the application', () => {
    const d = join(dir, 'bundle');
    mkdirSync(join(d, 'lib'), { recursive: true });
    mkdirSync(join(d, 'bin'), { recursive: true });
    gcc(dir, ['-shared', '-fPIC', '-o', 'bundle/lib/libbar.so.1', '-Wl,-soname,libbar.so.1', 'bar.c']);
    gcc(dir, ['-o', 'bundle/bin/app', 'usebar.c', 'bundle/lib/libbar.so.1', '-Wl,-rpath,$ORIGIN/../lib']);
    const spec = generateSpec([join(d, 'bin/app')]);
    const app = spec.binaries.find((b) => b.path === 'bin/app');
    expect(app?.bundled).toEqual(['lib/libbar.so.1']);
    expect(spec.binaries.map((b) => b.path).sort()).toEqual(['bin/app', 'lib/libbar.so.1']);
    const report = checkSpec(spec, index);
    const run = runBinary(join(d, 'bin/app'));
    expect(run.stdout).toBe('3\n');
    expect(report.reasons).toEqual([]);
    expect(report.binaries[0]!.libraries).toContainEqual({ soname: 'libbar.so.1', path: 'lib/libbar.so.1', from: 'application' });
    expectAgreement(report, run);
  });

  it('a directory tree whose bundled library was left out is incompatible, as running it is', () => {
    const d = join(dir, 'bundle2');
    mkdirSync(join(d, 'lib'), { recursive: true });
    mkdirSync(join(d, 'bin'), { recursive: true });
    gcc(dir, ['-shared', '-fPIC', '-o', 'bundle2/lib/libbar.so.1', '-Wl,-soname,libbar.so.1', 'bar.c']);
    gcc(dir, ['-o', 'bundle2/bin/app', 'usebar.c', 'bundle2/lib/libbar.so.1', '-Wl,-rpath,$ORIGIN/../lib']);
    rmSync(join(d, 'lib'), { recursive: true });
    const report = verdict([join(d)]);
    const run = runBinary(join(d, 'bin/app'));
    expect(report.reasons).toEqual([expect.objectContaining({ kind: 'missing-library', soname: 'libbar.so.1' })]);
    expectAgreement(report, run);
  });

  it('a program interpreter that does not exist: class interpreter, and the kernel cannot start it', () => {
    const d = join(dir, 'nointerp');
    mkdirSync(d, { recursive: true });
    gcc(dir, ['-o', 'nointerp/app', 'hello.c', '-Wl,--dynamic-linker=/nonexistent/ld-compat.so.2']);
    const report = verdict([join(d, 'app')]);
    const run = runBinary(join(d, 'app'));
    expect(run.status).not.toBe(0);
    expect(report.reasons).toEqual([expect.objectContaining({ kind: 'missing-interpreter', class: 'interpreter' })]);
    expectAgreement(report, run);
  });

  it('a candidate that stops the load (not an ELF file): class loader-error', () => {
    const d = join(dir, 'stops');
    mkdirSync(join(d, 'lib'), { recursive: true });
    gcc(dir, ['-shared', '-fPIC', '-o', 'stops/lib/libbar.so.1', '-Wl,-soname,libbar.so.1', 'bar.c']);
    gcc(dir, ['-o', 'stops/app', 'usebar.c', 'stops/lib/libbar.so.1']);
    writeTree(d, { 'lib/libbar.so.1': 'not an ELF file, but named like one\n'.repeat(40) });
    const ld = join(d, 'lib');
    const report = verdict([join(d, 'app')], ld);
    const run = runBinary(join(d, 'app'), { LD_LIBRARY_PATH: ld });
    expect(run.stderr).toContain('libbar.so.1');
    expect(report.reasons).toEqual([expect.objectContaining({ kind: 'loader-error', class: 'loader-error', soname: 'libbar.so.1' })]);
    expectAgreement(report, run);
  });
});
