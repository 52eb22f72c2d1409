import { beforeAll, describe, expect, it } from '@jest/globals';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { checkSpec } from '../../src/artifact/check-spec.js';
import { generateSpec } from '../../src/artifact/gen.js';
import { dependencyReport } from '../../src/host/deps.js';
import { type HostIndex, scanHost } from '../../src/host/host-index.js';
import { compat, gcc, runBinary, tempDir } from '../helpers/fixtures.js';
import { loaderFixture } from '../helpers/loader-fixture.js';

/**
 * One rule of the loader per fixture (test/fixtures/loader/<rule>/): each is built, run for real,
 * and compat's answer (deps, and check on the gen spec) must be what the run did.
 */
let index: HostIndex;
beforeAll(() => {
  index = scanHost({ indexFile: join(tempDir(), 'index.json') });
});

const deps = (app: string, ldLibraryPath?: string) => dependencyReport(app, { ldLibraryPath, preloadFile: null });
const check = (app: string, ldLibraryPath?: string) => checkSpec(generateSpec([app]), index, ldLibraryPath);

function patch(file: string, offset: number, bytes: number[]): void {
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.from(bytes), 0, bytes.length, offset);
  closeSync(fd);
}

describe('file identity (_dl_file_id): one file under two names is loaded once', () => {
  it('a library reached as libid.so and through the link libid-alias.so runs its constructor once', () => {
    const d = loaderFixture('file-identity');
    mkdirSync(join(d, 'lib'));
    gcc(d, ['-shared', '-fPIC', '-o', 'lib/libid.so', 'libid.c']);
    symlinkSync('libid.so', join(d, 'lib/libid-alias.so'));
    gcc(d, ['-shared', '-fPIC', '-o', 'lib/libother.so', 'libother.c', '-Llib', '-l:libid-alias.so', '-Wl,-rpath,$ORIGIN']);
    gcc(d, ['-o', 'app', 'app.c', '-Llib', '-l:libid.so', '-l:libother.so', '-Wl,-rpath,$ORIGIN/lib', '-Wl,-rpath-link,lib']);
    const run = runBinary(join(d, 'app'));
    expect(run.stdout).toBe('init libid\n7 8\n');
    const r = compat(['deps', '--json', join(d, 'app')]);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as ReturnType<typeof dependencyReport>;
    expect(doc.libraries.filter((l) => l.path.includes('libid')).map((l) => l.path)).toEqual([join(d, 'lib/libid.so')]);
    const alias = doc.trace!.searches.find((s) => s.name === 'libid-alias.so')!;
    expect(alias).toMatchObject({ result: 'loaded', path: join(d, 'lib/libid.so') });
    const obj = doc.trace!.objects.find((o) => o.name === 'libid.so')!;
    expect(obj.ino).toBeGreaterThan(0);
  });
});

describe('open_verify: what skips a candidate and what stops the load', () => {
  let d: string;
  beforeAll(() => {
    d = loaderFixture('open-verify');
    mkdirSync(join(d, 'good'));
    gcc(d, ['-shared', '-fPIC', '-o', 'good/libv.so.1', '-Wl,-soname,libv.so.1', 'libv.c']);
    gcc(d, ['-o', 'app', 'app.c', 'good/libv.so.1']);
  });

  /** A first directory holding `make(path)`, then the good library's: what do the loader and compat do? */
  function candidate(name: string, make: (path: string) => void) {
    const bad = join(d, name);
    mkdirSync(bad);
    make(join(bad, 'libv.so.1'));
    const ld = `${bad}:${join(d, 'good')}`;
    return { run: runBinary(join(d, 'app'), { LD_LIBRARY_PATH: ld }), deps: deps(join(d, 'app'), ld), check: check(join(d, 'app'), ld), bad };
  }
  const copyGood = (to: string) => writeFileSync(to, readFileSync(join(d, 'good/libv.so.1')));

  it.each([
    ['another class (a 32-bit build)', (p: string) => gcc(d, ['-m32', '-shared', '-fPIC', '-o', p, 'libv.c'])],
    ['another machine (e_machine EM_AARCH64)', (p: string) => (copyGood(p), patch(p, 18, [183, 0]))],
  ])('%s is skipped and the search goes on', (what, make) => {
    const r = candidate(what.replace(/\W+/g, '-'), make);
    expect(r.run.stdout).toBe('5\n');
    expect(r.deps.missing).toEqual([]);
    expect(r.deps.libraries.find((l) => l.soname === 'libv.so.1')!.path).toBe(join(d, 'good/libv.so.1'));
    expect(r.deps.trace!.searches.find((s) => s.name === 'libv.so.1')!.candidates.map((c) => c.outcome)).toContain(what.startsWith('another class') ? 'wrong-class' : 'wrong-machine');
    expect(r.check.reasons).toEqual([]);
  });

  it.each([
    // The loader has no strerror: "cannot read file data: Error 21".
    ['a directory', (p: string) => mkdirSync(p), 'cannot read file data'],
    ['another data encoding', (p: string) => (copyGood(p), patch(p, 5, [2])), ''],
    ['another OS ABI', (p: string) => (copyGood(p), patch(p, 7, [9])), 'ELF file OS ABI invalid'],
    ['another ABI version', (p: string) => (copyGood(p), patch(p, 8, [1])), 'ELF file ABI version invalid'],
    ['another EI_VERSION', (p: string) => (copyGood(p), patch(p, 6, [2])), 'ELF file version ident does not match current one'],
    ['an ET_EXEC executable', (p: string) => gcc(d, ['-no-pie', '-o', p, 'exe.c']), 'cannot dynamically load executable'],
    ['a PIE executable', (p: string) => gcc(d, ['-pie', '-fPIE', '-o', p, 'exe.c']), 'cannot dynamically load position-independent executable'],
    ['a truncated file', (p: string) => writeFileSync(p, readFileSync(join(d, 'good/libv.so.1')).subarray(0, 40)), ''],
  ])('%s with the library\'s name stops the load', (what, make, message) => {
    const r = candidate(what.replace(/\W+/g, '-'), make as (p: string) => void);
    expect(r.run.status).not.toBe(0);
    // The loader names the candidate that stopped it, not the soname.
    const candidatePath = join(r.bad, 'libv.so.1');
    // (the checks of _dl_map_object_from_fd name the soname instead).
    const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(r.run.stderr).toMatch(new RegExp(`error while loading shared libraries: (${esc(candidatePath)}|libv\\.so\\.1): ${esc(message)}`));
    expect(r.deps.missing).toEqual([expect.objectContaining({ soname: 'libv.so.1', error: expect.stringContaining(candidatePath) })]);
    if (message) expect(r.deps.missing[0]!.error).toContain(message);
    expect(r.check.compatible).toBe(false);
    expect(r.check.reasons).toEqual([expect.objectContaining({ kind: 'loader-error', soname: 'libv.so.1' })]);
  });
});

describe('DF_1_NODEFLIB refuses cache entries under the system directories by prefix', () => {
  const fakeroot = '/usr/lib/x86_64-linux-gnu/libfakeroot/libfakeroot-0.so';
  it('libfakeroot-0.so (in the cache, in a subdirectory of a system dir) is not found under -z nodeflib', () => {
    expect(existsSync(fakeroot)).toBe(true);
    const d = loaderFixture('nodeflib-prefix');
    gcc(d, ['-o', 'plain', 'app.c', '-Wl,--no-as-needed', fakeroot]);
    gcc(d, ['-o', 'nodeflib', 'app.c', '-Wl,--no-as-needed', fakeroot, '-Wl,-z,nodefaultlib']);
    expect(runBinary(join(d, 'plain')).status).toBe(0);
    expect(deps(join(d, 'plain')).missing).toEqual([]);
    const run = runBinary(join(d, 'nodeflib'));
    expect(run.stderr).toContain('libfakeroot-0.so: cannot open shared object file');
    const r = deps(join(d, 'nodeflib'));
    // libc.so.6 is refused too (its cache path is in a system directory); the loader reports the first failure only.
    expect(r.missing.map((m) => m.soname)).toEqual(['libfakeroot-0.so', 'libc.so.6']);
    expect(r.trace!.searches[0]!.candidates).toContainEqual(expect.objectContaining({ path: fakeroot, via: 'cache', outcome: 'nodeflib' }));
    expect(check(join(d, 'nodeflib')).reasons).toContainEqual(expect.objectContaining({ kind: 'missing-library', soname: 'libfakeroot-0.so' }));
    expect(check(join(d, 'plain')).reasons).toEqual([]);
  });
});

describe('filters: DT_FILTER filtee missing is fatal, DT_AUXILIARY is not', () => {
  let d: string;
  beforeAll(() => {
    d = loaderFixture('filters');
    gcc(d, ['-shared', '-fPIC', '-o', 'libfilter.so', 'filter.c', '-Wl,-soname,libfilter.so', '-Wl,-F,libfiltee.so']);
    gcc(d, ['-shared', '-fPIC', '-o', 'libaux.so', 'filter.c', '-Wl,-soname,libaux.so', '-Wl,-f,libauxee.so']);
    gcc(d, ['-o', 'app', 'app.c', '-L.', '-lfilter', '-Wl,-rpath,$ORIGIN']);
    gcc(d, ['-o', 'appaux', 'app.c', '-L.', '-laux', '-Wl,-rpath,$ORIGIN']);
  });

  it('a standard filter whose filtee is missing stops the program', () => {
    const run = runBinary(join(d, 'app'));
    expect(run.stderr).toContain('libfiltee.so: cannot open shared object file');
    expect(deps(join(d, 'app')).missing).toEqual([expect.objectContaining({ soname: 'libfiltee.so', neededBy: join(d, 'libfilter.so') })]);
    expect(check(join(d, 'app')).compatible).toBe(false);
  });

  it('an auxiliary filter whose filtee is missing runs', () => {
    expect(runBinary(join(d, 'appaux')).stdout).toBe('1\n');
    const r = deps(join(d, 'appaux'));
    expect(r.missing).toEqual([]);
    expect(r.trace!.searches.find((s) => s.name === 'libauxee.so')).toMatchObject({ tag: 'auxiliary', result: 'not-found' });
    expect(check(join(d, 'appaux')).reasons).toEqual([]);
  });

  it('the filtee, once present, is loaded', () => {
    gcc(d, ['-shared', '-fPIC', '-o', 'libfiltee.so', 'filtee.c']);
    expect(runBinary(join(d, 'app'), { LD_LIBRARY_PATH: d }).stdout).toBe('2\n');
    expect(deps(join(d, 'app'), d).libraries.map((l) => l.soname)).toContain('libfiltee.so');
  });
});
