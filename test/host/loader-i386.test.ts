import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { checkSpec } from '../../src/artifact/check-spec.js';
import { generateSpec } from '../../src/artifact/gen.js';
import { dependencyReport } from '../../src/host/deps.js';
import { type HostIndex, scanHost } from '../../src/host/host-index.js';
import { legacyHwcapSubdirs, loaderPlatform } from '../../src/host/platform.js';
import { gcc, runBinary, tempDir } from '../helpers/fixtures.js';
import { loaderFixture } from '../helpers/loader-fixture.js';

/** The 32-bit loader of a multilib node (gcc -m32 builds the fixtures; gcc-multilib, libc6-i386). */
let index: HostIndex;
let d: string;
beforeAll(() => {
  index = scanHost({ indexFile: join(tempDir(), 'index.json') });
  d = loaderFixture('i386-multilib');
  mkdirSync(join(d, 'lib32'));
  gcc(d, ['-m32', '-shared', '-fPIC', '-o', 'lib32/libm32.so', 'lib.c', '-Wl,-soname,libm32.so']);
  gcc(d, ['-m32', '-o', 'app-lib', 'app.c', '-Llib32', '-lm32', '-Wl,-rpath,$ORIGIN/$LIB']);
  gcc(d, ['-m32', '-o', 'app', 'app.c', '-Llib32', '-lm32']);
  mkdirSync(join(d, 'ld/i686'), { recursive: true });
  gcc(d, ['-m32', '-shared', '-fPIC', '-o', 'ld/i686/libm32.so', 'lib.c', '-Wl,-soname,libm32.so']);
});

/** `ldd`'s name → path pairs (it runs the binary's own loader). */
function ldd(file: string, env: Record<string, string> = {}): string[] {
  const out = execFileSync('ldd', [file], { encoding: 'utf8', env: { ...process.env, ...env } });
  return out
    .split('\n')
    .map((l) => /^\s+(\S+) => (\S+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]}`)
    .sort();
}
const pairs = (r: ReturnType<typeof dependencyReport>) =>
  [...r.libraries.filter((l) => l.via !== 'interpreter').map((l) => `${l.soname} ${l.path}`), ...r.missing.map((m) => `${m.soname} not found`)].sort();

describe('the 32-bit loader\'s own configuration, read from its file', () => {
  it('directories, $LIB and legacy subdirectories are those ld-linux.so.2 reports', () => {
    const diag = execFileSync('/lib/ld-linux.so.2', ['--list-diagnostics'], { encoding: 'utf8' });
    const dirs = [...diag.matchAll(/^path\.system_dirs\[0x\d+\]="(.*)\/"$/gm)].map((m) => m[1]);
    const p = loaderPlatform(3, 32, '/', { interpreter: '/lib/ld-linux.so.2' });
    expect(p.defaultDirs).toEqual(dirs);
    expect(p.lib).toBe('lib32');
    expect(p.platform).toBe(/^dl_platform="(.*)"$/m.exec(diag)![1]);
    expect(legacyHwcapSubdirs(['i686', 'sse2'])).toEqual(['tls/i686/sse2', 'tls/i686', 'tls/sse2', 'tls', 'i686/sse2', 'i686', 'sse2']);
  });

  it('$LIB in a 32-bit program\'s RUNPATH is lib32', () => {
    expect(runBinary(join(d, 'app-lib')).stdout).toBe('32\n');
    const r = dependencyReport(join(d, 'app-lib'), { preloadFile: null });
    expect(r.missing).toEqual([]);
    expect(pairs(r)).toEqual(ldd(join(d, 'app-lib')));
    expect(checkSpec(generateSpec([join(d, 'app-lib')]), index).reasons).toEqual([]);
  });

  it('the legacy i686/ subdirectory of a search directory is tried', () => {
    const ld = join(d, 'ld');
    expect(runBinary(join(d, 'app'), { LD_LIBRARY_PATH: ld }).stdout).toBe('32\n');
    const r = dependencyReport(join(d, 'app'), { ldLibraryPath: ld, preloadFile: null });
    expect(r.libraries.find((l) => l.soname === 'libm32.so')!.path).toBe(join(ld, 'i686/libm32.so'));
    expect(pairs(r)).toEqual(ldd(join(d, 'app'), { LD_LIBRARY_PATH: ld }));
    expect(checkSpec(generateSpec([join(d, 'app')]), index, ld).reasons).toEqual([]);
  });

  it('without the library the 32-bit program fails, and compat says so', () => {
    renameSync(join(d, 'ld/i686'), join(d, 'ld/x86_64'));
    const ld = join(d, 'ld');
    expect(runBinary(join(d, 'app'), { LD_LIBRARY_PATH: ld }).status).not.toBe(0);
    expect(dependencyReport(join(d, 'app'), { ldLibraryPath: ld, preloadFile: null }).missing.map((m) => m.soname)).toEqual(['libm32.so']);
    expect(checkSpec(generateSpec([join(d, 'app')]), index, ld).reasons).toEqual([expect.objectContaining({ kind: 'missing-library', soname: 'libm32.so' })]);
  });
});
