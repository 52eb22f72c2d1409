import { describe, expect, it } from '@jest/globals';
import { DF_1_NODEFLIB, DF_1_PIE } from '../../src/host/elf.js';
import { LA_SER } from '../../src/host/load-trace.js';
import {
  candidateDirs,
  effectiveRpath,
  expandSearchPath,
  expandTokens,
  fileIdOf,
  findLoaded,
  nodeflibRefuses,
  resolveGraph,
  rpathOwners,
  searchOrder,
  verifyCandidate,
  versionProblems,
} from '../../src/host/resolve.js';
import { lib, MemorySource, platform } from './resolve-memory.js';

const P = { lib: 'lib/x86_64-linux-gnu', platform: 'x86_64' };
const X64 = { class: 64 as const, machine: 62, endian: 'little' as const };

describe('expandTokens (_dl_dst_substitute, is_dst)', () => {
  it('expands $ORIGIN, ${LIB}, $PLATFORM and leaves unknown tokens', () => {
    expect(expandTokens('$ORIGIN/../$LIB/${PLATFORM}/$FOO', '/app/bin', P)).toBe('/app/bin/../lib/x86_64-linux-gnu/x86_64/$FOO');
  });
  it('a token must end at a non-identifier character', () => {
    expect(expandTokens('$ORIGINX/lib', '/app', P)).toBe('$ORIGINX/lib');
  });
  it('drops an element whose token has no value', () => {
    expect(expandTokens('$ORIGIN/lib', undefined, P)).toBeUndefined();
    expect(expandTokens('$PLATFORM', '/app', { lib: 'lib', platform: '' })).toBeUndefined();
  });
});

describe('expandSearchPath (decompose_rpath, fillin_rpath)', () => {
  it('takes empty and relative elements against the working directory and marks them', () => {
    expect(expandSearchPath(['/a/', '', 'rel', '/a', '$ORIGIN/x'], '/o', P, '/work')).toEqual([
      { path: '/a', fromCwd: false },
      { path: '/work', fromCwd: true },
      { path: '/work/rel', fromCwd: true },
      { path: '/o/x', fromCwd: false },
    ]);
  });
});

describe('RPATH inheritance and RUNPATH (_dl_map_object)', () => {
  it('RPATH does not count for an object with RUNPATH', () => {
    expect(effectiveRpath({ rpath: ['/r'], runpath: ['/u'] })).toBeUndefined();
    expect(effectiveRpath({ rpath: ['/r'] })).toEqual(['/r']);
  });
  it('searches the requester, its loaders up to the executable; none under RUNPATH', () => {
    const loader = [-1, 0, 1, 2];
    expect(rpathOwners((i) => loader[i]!, 3, false)).toEqual([3, 2, 1, 0]);
    expect(rpathOwners((i) => loader[i]!, 3, true)).toEqual([]);
    // The interpreter or a preload (loader -1 but not the executable) still ends with the executable's RPATH.
    expect(rpathOwners((i) => [-1, -1][i]!, 1, false)).toEqual([1, 0]);
  });
  it('orders RPATH, LD_LIBRARY_PATH, RUNPATH, cache, default; NODEFLIB drops the default dirs', () => {
    const d = (p: string) => [{ path: p, fromCwd: false }];
    const steps = searchOrder([d('/r1'), d('/r0')], d('/env'), d('/run'), ['/lib'], false);
    expect(steps.map((s) => s.via)).toEqual(['rpath', 'rpath', 'LD_LIBRARY_PATH', 'runpath', 'ld.so.cache', 'default']);
    expect(searchOrder([], [], [], ['/lib'], true).map((s) => s.via)).toEqual(['LD_LIBRARY_PATH', 'runpath', 'ld.so.cache']);
  });
});

describe('candidateDirs (_dl_important_hwcaps subdirectories inside a search directory)', () => {
  it('tries each subdirectory in order, the directory itself last', () => {
    expect(candidateDirs('/usr/lib', ['glibc-hwcaps/x86-64-v2', 'tls', ''])).toEqual(['/usr/lib/glibc-hwcaps/x86-64-v2', '/usr/lib/tls', '/usr/lib']);
    expect(candidateDirs('/', ['x86_64', ''])).toEqual(['/x86_64', '/']);
  });
});

describe('nodeflibRefuses (_dl_map_object: a prefix test on cache paths)', () => {
  it('refuses paths inside a system directory and inside its subdirectories', () => {
    const sys = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib', '/usr/lib'];
    expect(nodeflibRefuses('/usr/lib/x86_64-linux-gnu/libfakeroot/libfakeroot-0.so', sys)).toBe(true);
    expect(nodeflibRefuses('/usr/lib/x86_64-linux-gnu/libz.so.1', sys)).toBe(true);
    expect(nodeflibRefuses('/opt/lib/libz.so.1', sys)).toBe(false);
    expect(nodeflibRefuses('/usr/lib64/libz.so.1', sys)).toBe(false);
  });
});

describe('verifyCandidate (open_verify and _dl_map_object_from_fd)', () => {
  const ok = (over: Parameters<typeof lib>[0]) => verifyCandidate({ ok: true, facts: lib(over) }, X64);
  it('accepts a matching shared object', () => {
    expect(ok({})).toEqual({ outcome: 'accepted' });
    expect(ok({ osabi: 3, abiversion: 3 })).toEqual({ outcome: 'accepted' });
  });
  it('skips another class or machine', () => {
    expect(ok({ class: 32 }).outcome).toBe('wrong-class');
    expect(ok({ machine: 183 }).outcome).toBe('wrong-machine');
    // The class is judged before the data encoding: a 32-bit big-endian file is only skipped.
    expect(ok({ class: 32, endian: 'big' }).outcome).toBe('wrong-class');
  });
  it.each([
    [{ endian: 'big' as const }, 'ELF file data encoding not little-endian'],
    [{ identVersion: 2 }, 'ELF file version ident does not match current one'],
    [{ osabi: 9 }, 'ELF file OS ABI invalid'],
    [{ abiversion: 1 }, 'ELF file ABI version invalid'],
    [{ osabi: 3, abiversion: 4 }, 'ELF file ABI version invalid'],
    [{ version: 0 }, 'ELF file version does not match current one'],
    [{ type: 'rel' as const }, 'only ET_DYN and ET_EXEC can be loaded'],
    [{ type: 'exec' as const }, 'cannot dynamically load executable'],
    [{ flags1: DF_1_PIE }, 'cannot dynamically load position-independent executable'],
  ])('stops the load on %p', (over, message) => {
    expect(ok(over)).toEqual({ outcome: 'stop', message });
  });
  it('a missing file goes on; an unreadable or broken one stops', () => {
    expect(verifyCandidate({ ok: false, missing: true }, X64).outcome).toBe('missing');
    expect(verifyCandidate({ ok: false, missing: false, message: 'x: file too short' }, X64)).toEqual({ outcome: 'stop', message: 'x: file too short' });
  });
});

describe('findLoaded and fileIdOf (_dl_name_match_p, _dl_file_id)', () => {
  it('matches a loaded name or a DT_SONAME, which then becomes a name', () => {
    const objects = [{ facts: lib() }, { facts: lib({ soname: 'libz.so.1' }) }];
    const names = [new Set(['/app']), new Set(['libz-alias.so'])];
    expect(findLoaded(objects, names, 'libz-alias.so')).toBe(1);
    expect(findLoaded(objects, names, 'libz.so.1')).toBe(1);
    expect(names[1]!.has('libz.so.1')).toBe(true);
    expect(findLoaded(objects, names, 'libq.so')).toBe(-1);
  });
  it('identifies a file by what its source says (device and inode on disk), not by path', () => {
    expect(fileIdOf({ ok: true, facts: lib(), id: '2049:77' }, '/a/libz.so')).toBe('2049:77');
    expect(fileIdOf({ ok: true, facts: lib() }, '/a/../b/libz.so')).toBe('/b/libz.so');
  });
  it('loads one file once however many names reach it', () => {
    const src = new MemorySource({
      '/app': lib({ needed: ['libz.so.1', 'libz-other.so'] }),
      '/l/libz.so.1': lib({ soname: 'libz.so.1' }),
      '/l/libz-other.so': { link: '/l/libz.so.1' },
    });
    const res = resolveGraph('/app', lib({ needed: ['libz.so.1', 'libz-other.so'] }), { source: src, platform: platform(), ldLibraryPath: ['/l'], cwd: '/' });
    expect(res.objects.map((o) => o.path)).toEqual(['/app', '/l/libz.so.1']);
    expect(res.edges.map((e) => `${e.name}->${e.to}`)).toEqual(['libz.so.1->1', 'libz-other.so->1']);
  });
});

describe('versionProblems (_dl_check_map_versions)', () => {
  it('reports a non-weak version the provider lacks and lets a provider without versions pass', () => {
    const objects = [
      { facts: lib({ verneed: [{ file: 'libv.so', versions: [{ name: 'V_2', weak: false }, { name: 'V_3', weak: true }] }, { file: 'libn.so', versions: [{ name: 'N_1', weak: false }] }] }) },
      { facts: lib({ soname: 'libv.so', verdef: ['V_1'] }) },
      { facts: lib({ soname: 'libn.so' }) },
    ] as never;
    const edges = [
      { from: 0, name: 'libv.so', to: 1 },
      { from: 0, name: 'libn.so', to: 2 },
    ];
    expect(versionProblems({ objects, edges })).toEqual([{ object: 0, file: 'libv.so', provider: 1, version: 'V_2' }]);
  });
});

describe('resolveGraph records a LoadTrace', () => {
  it('names, paths, via with its LA_SER flag, who needed it, and every candidate with its outcome', () => {
    const src = new MemorySource({
      '/env/libz.so.1': lib({ class: 32 }),
      '/env/libq.so.1': { error: '/env/libq.so.1: file too short' },
      '/run/libz.so.1': lib({ soname: 'libz.so.1', needed: ['libc.so.6'] }),
      '/lib/x86_64-linux-gnu/libc.so.6': lib({ soname: 'libc.so.6' }),
    });
    const exe = lib({ needed: ['libz.so.1', 'libq.so.1'], runpath: ['/run'] });
    const res = resolveGraph('/app', exe, { source: src, platform: platform(), ldLibraryPath: ['/env'], cacheLookup: (s) => (s === 'libc.so.6' ? '/lib/x86_64-linux-gnu/libc.so.6' : undefined), cwd: '/', trace: true });
    const t = res.trace!;
    expect(JSON.parse(JSON.stringify(t))).toEqual(t);
    expect(t.objects.map((o) => [o.name, o.path, o.via, o.laSer, o.neededBy])).toEqual([
      ['/app', '/app', 'executable', 0, null],
      ['libz.so.1', '/run/libz.so.1', 'runpath', LA_SER.RUNPATH, '/app'],
      ['libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6', 'cache', LA_SER.CONFIG, '/run/libz.so.1'],
    ]);
    const z = t.searches.find((s) => s.name === 'libz.so.1')!;
    expect(z.result).toBe('found');
    expect(z.candidates.map((c) => [c.path, c.via, c.laSer, c.outcome])).toEqual([
      ['/env/libz.so.1', 'ld_library_path', LA_SER.LIBPATH, 'wrong-class'],
      ['/run/libz.so.1', 'runpath', LA_SER.RUNPATH, 'accepted'],
    ]);
    const q = t.searches.find((s) => s.name === 'libq.so.1')!;
    expect(q).toMatchObject({ result: 'error', error: '/env/libq.so.1: file too short' });
    expect(q.candidates.at(-1)).toMatchObject({ path: '/env/libq.so.1', outcome: 'stop' });
  });

  it('NODEFLIB refuses a cache answer under a system directory and records why', () => {
    const src = new MemorySource({ '/usr/lib/x86_64-linux-gnu/sub/libf.so': lib({ soname: 'libf.so' }) });
    const exe = lib({ needed: ['libf.so'], flags1: DF_1_NODEFLIB });
    const res = resolveGraph('/app', exe, { source: src, platform: platform(), cacheLookup: () => '/usr/lib/x86_64-linux-gnu/sub/libf.so', cwd: '/', trace: true });
    expect(res.missing.map((m) => m.name)).toEqual(['libf.so']);
    expect(res.trace!.searches[0]!.candidates).toEqual([{ path: '/usr/lib/x86_64-linux-gnu/sub/libf.so', via: 'cache', laSer: LA_SER.CONFIG, outcome: 'nodeflib' }]);
  });

  it('a missing DT_FILTER filtee is fatal, a missing DT_AUXILIARY one is not', () => {
    const src = new MemorySource({ '/l/libf.so': lib({ soname: 'libf.so', filters: ['libgone.so'], auxiliary: ['libaux.so'] }) });
    const exe = lib({ needed: ['libf.so'] });
    const res = resolveGraph('/app', exe, { source: src, platform: platform(), ldLibraryPath: ['/l'], cwd: '/' });
    expect(res.missing).toEqual([{ name: 'libgone.so', requestedBy: 1, wrongClass: [], tag: 'filter' }]);
  });

  it('preloads load before the DT_NEEDED entries; a missing one is ignored, its own missing needs are not', () => {
    const src = new MemorySource({ '/p/libpre.so': lib({ soname: 'libpre.so', needed: ['libdep.so'] }) });
    const exe = lib({ needed: [] });
    const res = resolveGraph('/app', exe, {
      source: src,
      platform: platform(),
      cwd: '/',
      preload: [
        { name: '/p/libpre.so', from: 'LD_PRELOAD' },
        { name: 'libnone.so', from: '/etc/ld.so.preload' },
      ],
    });
    expect(res.objects.map((o) => [o.path, o.tag])).toEqual([
      ['/app', undefined],
      ['/p/libpre.so', 'preload'],
    ]);
    expect(res.ignoredPreloads).toEqual([{ name: 'libnone.so', from: '/etc/ld.so.preload', message: 'cannot open shared object file: No such file or directory' }]);
    expect(res.missing.map((m) => m.name)).toEqual(['libdep.so']);
  });

  it('records the searches that consult the working directory', () => {
    const src = new MemorySource({ '/w/libz.so': lib({ soname: 'libz.so' }) });
    const res = resolveGraph('/app', lib({ needed: ['libz.so'] }), { source: src, platform: platform(), ldLibraryPath: ['/nope', ''], cwd: '/w' });
    expect(res.objects.map((o) => o.path)).toEqual(['/app', '/w/libz.so']);
    expect(res.cwdUses).toEqual([{ object: 0, name: 'libz.so', source: 'LD_LIBRARY_PATH' }]);
  });
});
