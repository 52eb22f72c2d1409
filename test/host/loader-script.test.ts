import { beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkSpec } from '../../src/artifact/check-spec.js';
import { generateSpec } from '../../src/artifact/gen.js';
import type { CheckReport } from '../../src/host/check.js';
import { type HostIndex, scanHost } from '../../src/host/host-index.js';
import { envProgram } from '../../src/host/script.js';
import { gcc, runBinary, tempDir } from '../helpers/fixtures.js';

/** test/fixtures/loader/script-interpreter: every script is run for real; check must agree. */
const FIXTURE = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'fixtures', 'loader', 'script-interpreter');

let dir: string;
let path: string;
let index: HostIndex;

beforeAll(() => {
  dir = tempDir();
  for (const f of readdirSync(FIXTURE)) copyFileSync(join(FIXTURE, f), join(dir, f));
  index = scanHost({ indexFile: join(dir, 'index.json') });
  for (const d of ['bin', 'gone', 'app']) mkdirSync(join(dir, d));
  gcc(dir, ['-o', 'bin/goodinterp', 'interp.c']);
  gcc(dir, ['-shared', '-fPIC', '-o', 'gone/libgone.so.1', '-Wl,-soname,libgone.so.1', 'gone.c']);
  gcc(dir, ['-DNEEDS_GONE', '-o', 'bin/badinterp', 'interp.c', 'gone/libgone.so.1']);
  rmSync(join(dir, 'gone'), { recursive: true });
  path = `${join(dir, 'bin')}:/usr/bin:/bin`;
});

/** Writes an executable script, runs it with PATH = bin:/usr/bin:/bin, and checks its gen spec with the same PATH. */
function both(name: string, firstLine: string): { report: CheckReport; run: ReturnType<typeof runBinary> } {
  const file = join(dir, 'app', name);
  writeFileSync(file, `${firstLine}\n`);
  chmodSync(file, 0o755);
  const run = runBinary(file, { PATH: path });
  const report = checkSpec(generateSpec([file]), index, undefined, { path });
  expect(report.compatible).toBe(run.status === 0);
  return { report, run };
}

describe('scripts', () => {
  it('#!/usr/bin/env prog with prog on PATH runs, and is compatible', () => {
    const { report, run } = both('env-good', '#!/usr/bin/env goodinterp');
    expect(run.stdout).toMatch(/^interp 0 /);
    expect(report.reasons).toEqual([]);
  });

  it('#!/usr/bin/env prog with prog nowhere on PATH: env fails, and check says interpreter', () => {
    const { report, run } = both('env-missing', '#!/usr/bin/env compat-fixture-no-such-program');
    expect(run.status).toBe(127);
    expect(run.stderr).toContain('compat-fixture-no-such-program');
    expect(report.reasons).toEqual([expect.objectContaining({ kind: 'missing-interpreter', class: 'interpreter', binary: 'env-missing' })]);
    expect(report.reasons[0]!.message).toBe('env-missing: compat-fixture-no-such-program (run by #!/usr/bin/env) not found on PATH');
  });

  it('the same script is not compatible when the PATH check is given lacks prog', () => {
    const report = checkSpec(generateSpec([join(dir, 'app', 'env-good')]), index, undefined, { path: '/usr/bin:/bin' });
    expect(report.reasons).toEqual([expect.objectContaining({ class: 'interpreter' })]);
  });

  it('#!/usr/bin/env prog -x: the kernel passes "prog -x" as one name, which env does not find', () => {
    const { report, run } = both('env-arg', '#!/usr/bin/env goodinterp -x');
    expect(run.status).toBe(127);
    expect(run.stderr).toContain('goodinterp -x');
    expect(report.reasons[0]!.message).toContain("goodinterp -x (run by #!/usr/bin/env) not found on PATH");
  });

  it('#!/usr/bin/env -S prog -x: env splits the line and runs prog', () => {
    const { report, run } = both('env-split', '#!/usr/bin/env -S goodinterp -x');
    expect(run.stdout).toMatch(/^interp 0 /);
    expect(report.reasons).toEqual([]);
  });

  it('an ELF interpreter named by #! whose own library is missing: the script cannot run', () => {
    const { report, run } = both('elf-interp', `#!${join(dir, 'bin', 'badinterp')}`);
    expect(run.status).toBe(127);
    expect(run.stderr).toContain('libgone.so.1: cannot open shared object file');
    expect(report.reasons).toEqual([expect.objectContaining({ kind: 'missing-library', class: 'soname', binary: 'elf-interp', soname: 'libgone.so.1' })]);
    expect(report.reasons[0]!.message).toBe(`elf-interp: libgone.so.1 (needed by ${join(dir, 'bin', 'badinterp')}) not found`);
  });

  it('#!/usr/bin/env prog where prog itself cannot load', () => {
    const { report, run } = both('env-bad', '#!/usr/bin/env badinterp');
    expect(run.stderr).toContain('libgone.so.1');
    expect(report.reasons).toEqual([expect.objectContaining({ class: 'soname', soname: 'libgone.so.1' })]);
  });

  it('a relative #! interpreter is opened from the working directory: class environment', () => {
    const file = join(dir, 'app', 'relative');
    writeFileSync(file, '#!bin/goodinterp\n');
    chmodSync(file, 0o755);
    expect(spawnSync(file, [], { cwd: dir, encoding: 'utf8' }).stdout).toMatch(/^interp 0 /);
    const elsewhere = spawnSync(file, [], { cwd: '/', encoding: 'utf8' });
    expect((elsewhere.error as NodeJS.ErrnoException | undefined)?.code).toBe('ENOENT');
    // check runs from the repository, where bin/goodinterp does not exist: as the run from '/'.
    const report = checkSpec(generateSpec([file]), index, undefined, { path });
    expect(report.reasons).toEqual([expect.objectContaining({ kind: 'missing-interpreter', class: 'environment', binary: 'relative' })]);
  });

  it('which program env runs, as env reads its argument', () => {
    expect(envProgram('python3')).toBe('python3');
    expect(envProgram('python3 -u')).toBe('python3 -u');
    expect(envProgram('-S python3 -u')).toBe('python3');
    expect(envProgram('-S -i FOO=1 python3')).toBe('python3');
    expect(envProgram('-S -u HOME python3')).toBe('python3');
    expect(envProgram('FOO=1')).toBeUndefined();
    expect(envProgram('-i python3')).toBeUndefined();
    expect(envProgram(undefined)).toBeUndefined();
  });
});
