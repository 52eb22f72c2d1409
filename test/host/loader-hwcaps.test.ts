import { beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkSpec } from '../../src/artifact/check-spec.js';
import { generateSpec } from '../../src/artifact/gen.js';
import { dependencyReport } from '../../src/host/deps.js';
import { type HostIndex, scanHost } from '../../src/host/host-index.js';
import { hwcapsTunable, maskX86Hwcaps } from '../../src/host/platform.js';
import { gcc, tempDir } from '../helpers/fixtures.js';
import { loaderFixture } from '../helpers/loader-fixture.js';

const LEVELS = ['x86-64-v4', 'x86-64-v3', 'x86-64-v2'];

describe('maskX86Hwcaps (glibc.cpu.hwcaps=-NAME)', () => {
  it.each([
    ['glibc.cpu.hwcaps=-AVX2', ['x86-64-v2']],
    ['glibc.cpu.hwcaps=-AVX512VL', ['x86-64-v3', 'x86-64-v2']],
    ['glibc.cpu.hwcaps=-SSE4_2,-AVX2', []],
    ['glibc.malloc.check=0:glibc.cpu.hwcaps=-OSXSAVE', ['x86-64-v2']],
    // Names glibc cannot turn off, a lower-case name, or a name without "-": nothing changes.
    ['glibc.cpu.hwcaps=-F16C,-CMPXCHG16B,-avx2,AVX2', LEVELS],
    ['glibc.cpu.hwcaps=-AVX2:glibc.cpu.hwcaps=-AVX512F', ['x86-64-v3', 'x86-64-v2']],
    ['', LEVELS],
  ])('%s', (tunables, left) => {
    expect(maskX86Hwcaps(LEVELS, tunables)).toEqual(left);
  });

  it('reads only the glibc.cpu.hwcaps item of GLIBC_TUNABLES', () => {
    expect(hwcapsTunable('glibc.malloc.check=0:glibc.cpu.hwcaps=-AVX2,-BMI1:glibc.cpu.x86_shstk=on')).toBe('-AVX2,-BMI1');
    expect(hwcapsTunable(undefined)).toBeUndefined();
  });
});

describe('the glibc-hwcaps copy the loader picks, with and without tunables (_dl_important_hwcaps)', () => {
  let d: string;
  let index: HostIndex;
  beforeAll(() => {
    d = loaderFixture('hwcaps-tunables');
    for (const level of ['', ...LEVELS]) {
      const dir = level ? join(d, 'lib/glibc-hwcaps', level) : join(d, 'lib');
      mkdirSync(dir, { recursive: true });
      gcc(d, ['-shared', '-fPIC', `-DWHICH="${level || 'base'}"`, '-Wl,-soname,libwhich.so.1', '-o', join(dir, 'libwhich.so.1'), 'libwhich.c']);
    }
    gcc(d, ['-o', 'app', 'app.c', 'lib/libwhich.so.1', '-Wl,-rpath,$ORIGIN/lib']);
    index = scanHost({ indexFile: join(tempDir(), 'index.json') });
  });

  /** The copy a real run loads: each prints its level. */
  function realChoice(tunables: string): string {
    const r = spawnSync(join(d, 'app'), [], { encoding: 'utf8', env: { GLIBC_TUNABLES: tunables }, timeout: 10000 });
    expect(r.status).toBe(0);
    const level = r.stdout.trim();
    return level === 'base' ? 'lib/libwhich.so.1' : `lib/glibc-hwcaps/${level}/libwhich.so.1`;
  }

  const TUNABLES = ['', 'glibc.cpu.hwcaps=-AVX512F', 'glibc.cpu.hwcaps=-AVX2', 'glibc.cpu.hwcaps=-SSE4_2', 'glibc.cpu.hwcaps=-F16C'];

  it.each(TUNABLES)('deps agrees with the run [%s]', (tunables) => {
    const lib = dependencyReport(join(d, 'app'), { tunables }).libraries.find((l) => l.soname === 'libwhich.so.1');
    expect(lib?.path).toBe(join(d, realChoice(tunables)));
  });

  it('gen bundles every level\'s copy, so a node with another CPU still finds one', () => {
    const spec = generateSpec([join(d, 'app')]);
    expect(spec.binaries.map((b) => b.path).sort()).toEqual(['app', 'lib/glibc-hwcaps/x86-64-v2/libwhich.so.1', 'lib/glibc-hwcaps/x86-64-v3/libwhich.so.1', 'lib/glibc-hwcaps/x86-64-v4/libwhich.so.1', 'lib/libwhich.so.1']);
  });

  it.each(TUNABLES)('check on the gen spec agrees with the run [%s]', (tunables) => {
    const report = checkSpec(generateSpec([join(d, 'app')]), index, undefined, { tunables, preloadFile: null });
    expect(report.compatible).toBe(true);
    const lib = report.binaries[0]!.libraries.find((l) => l.soname === 'libwhich.so.1');
    expect(lib?.path).toBe(realChoice(tunables));
  });
});
