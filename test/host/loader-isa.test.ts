import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkSpec } from '../../src/artifact/check-spec.js';
import { generateSpec } from '../../src/artifact/gen.js';
import { readElf } from '../../src/host/elf.js';
import { type HostIndex, scanHost } from '../../src/host/host-index.js';
import { hostX86IsaLevel, x86IsaLevelFromCpuinfo, x86IsaNames } from '../../src/host/isa.js';
import { gcc, runBinary, tempDir } from '../helpers/fixtures.js';

/** test/fixtures/loader/x86-isa-level: each build is run for real and compat must say what the loader did. */
const FIXTURE = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'fixtures', 'loader', 'x86-isa-level');
const CANT = 'CPU ISA level is lower than required';

let dir: string;
let index: HostIndex;

/** An application directory: bin/app with `$ORIGIN/../lib`, lib/libbar.so.1 linked with `libFlags`. */
function app(name: string, libFlags: string[], appFlags: string[] = []): string {
  const d = join(dir, name);
  mkdirSync(join(d, 'lib'), { recursive: true });
  mkdirSync(join(d, 'bin'), { recursive: true });
  gcc(dir, ['-shared', '-fPIC', '-o', `${name}/lib/libbar.so.1`, '-Wl,-soname,libbar.so.1', 'bar.c', ...libFlags]);
  gcc(dir, ['-o', `${name}/bin/app`, 'usebar.c', `${name}/lib/libbar.so.1`, '-Wl,-rpath,$ORIGIN/../lib', ...appFlags]);
  return d;
}

beforeAll(() => {
  dir = tempDir();
  for (const f of readdirSync(FIXTURE)) copyFileSync(join(FIXTURE, f), join(dir, f));
  index = scanHost({ indexFile: join(dir, 'index.json') });
});

describe('the x86 ISA level (GNU_PROPERTY_X86_ISA_1_NEEDED)', () => {
  it("the CPU's level is the one the loader computes (ld.so --list-diagnostics: x86.cpu_features.isa_1)", () => {
    const diag = execFileSync('/lib64/ld-linux-x86-64.so.2', ['--list-diagnostics'], { encoding: 'utf8' });
    const isa1 = Number(/^x86\.cpu_features\.isa_1=(0x[0-9a-f]+)$/m.exec(diag)![1]);
    expect(hostX86IsaLevel()).toBe(isa1);
    expect(index.x86IsaLevel).toBe(isa1);
    // get_isa_level's v3 does not ask for BMI1/BMI2 (the psABI's hwcaps list does).
    const v3 = 'flags : fpu cx8 cmov mmx fxsr sse sse2 pni ssse3 cx16 sse4_1 sse4_2 popcnt lahf_lm avx avx2 f16c fma abm movbe\n';
    expect(x86IsaNames(x86IsaLevelFromCpuinfo(v3))).toEqual(['x86-64-baseline', 'x86-64-v2', 'x86-64-v3']);
    expect(x86IsaLevelFromCpuinfo(v3.replace(' sse4_2', ''))).toBe(0x1);
  });

  it('a library needing a level above the CPU is refused by the loader, and check says isa', () => {
    const d = app('beyond', ['isa-beyond-v4.S']);
    expect(readElf(join(d, 'lib/libbar.so.1')).x86IsaNeeded).toBe(0x10);
    const run = runBinary(join(d, 'bin/app'));
    expect(run.status).toBe(127);
    expect(run.stderr).toContain(`${d}/bin/../lib/libbar.so.1: ${CANT}`);
    const spec = generateSpec([d]);
    expect(spec.binaries.find((b) => b.path === 'lib/libbar.so.1')?.x86IsaNeeded).toEqual(['0x10']);
    const report = checkSpec(spec, index);
    expect(report.compatible).toBe(false);
    expect(report.reasons).toEqual([expect.objectContaining({ kind: 'isa-level', class: 'isa', binary: 'bin/app', soname: 'libbar.so.1' })]);
    expect(report.reasons[0]!.message).toContain(`bin/app: lib/libbar.so.1: ${CANT}`);
  });

  it('an executable needing a level above the CPU is refused too', () => {
    const d = app('beyond-exe', [], ['isa-beyond-v4.S']);
    const run = runBinary(join(d, 'bin/app'));
    expect(run.status).toBe(127);
    expect(run.stderr).toContain(CANT);
    const report = checkSpec(generateSpec([d]), index);
    expect(report.reasons).toEqual([expect.objectContaining({ kind: 'isa-level', class: 'isa', binary: 'bin/app' })]);
    expect(report.reasons[0]!.soname).toBeUndefined();
  });

  it('a library needing x86-64-v4 (-z x86-64-v4): compat agrees with the run on this CPU', () => {
    const d = app('v4', ['-Wl,-z,x86-64-v4']);
    const readelf = execFileSync('readelf', ['-n', join(d, 'lib/libbar.so.1')], { encoding: 'utf8' });
    expect(readelf).toContain('x86 ISA needed: x86-64-v4');
    const spec = generateSpec([d]);
    expect(spec.binaries.find((b) => b.path === 'lib/libbar.so.1')?.x86IsaNeeded).toEqual(['x86-64-v4']);
    const run = runBinary(join(d, 'bin/app'));
    const report = checkSpec(spec, index);
    expect(report.compatible).toBe(run.status === 0);
    expect(run.status === 0).toBe((hostX86IsaLevel() & 0x8) !== 0);
    if (run.status !== 0) expect(report.reasons[0]).toMatchObject({ class: 'isa' });
  });

  it('GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX2 does not lower the level the loader checks against', () => {
    const d = join(dir, 'v4');
    const plain = runBinary(join(d, 'bin/app'));
    const masked = runBinary(join(d, 'bin/app'), { GLIBC_TUNABLES: 'glibc.cpu.hwcaps=-AVX512F,-AVX2' });
    expect(masked.status).toBe(plain.status);
    expect(masked.stdout).toBe(plain.stdout);
    const report = checkSpec(generateSpec([d]), index);
    expect(report.compatible).toBe(masked.status === 0);
  });

  it("every library of /usr/lib/x86_64-linux-gnu reads as readelf -n reads it", () => {
    const libs = readdirSync('/usr/lib/x86_64-linux-gnu').filter((n) => /\.so\.\d/.test(n)).map((n) => join('/usr/lib/x86_64-linux-gnu', n));
    const out = execFileSync('readelf', ['-n', '-W', ...libs], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
    const theirs = new Map<string, string>();
    let file = '';
    for (const line of out.split('\n')) {
      const f = /^File: (.*)$/.exec(line);
      if (f) file = f[1]!;
      const isa = /x86 ISA needed: (.*)$/.exec(line);
      if (isa && !theirs.has(file)) theirs.set(file, isa[1]!.split(', ').join(','));
    }
    let compared = 0;
    for (const lib of libs) {
      let mine: number | undefined;
      try {
        mine = readElf(lib).x86IsaNeeded;
      } catch {
        continue;
      }
      compared++;
      expect([lib, mine === undefined ? undefined : x86IsaNames(mine).join(',')]).toEqual([lib, theirs.get(lib)]);
    }
    expect(compared).toBeGreaterThan(50);
    expect(theirs.size).toBeGreaterThan(0);
  });
});
