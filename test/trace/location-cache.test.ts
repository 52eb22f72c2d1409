import { describe, expect, test, beforeAll } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildManyLibs } from '../../bench/lib/many-libs.mjs';
import { compat, expectOneLineError, gcc, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { startRegistry } from '../helpers/registry.js';

const MODULE = join(import.meta.dirname, '..', '..', 'dist', 'native', 'libcompat.so');

/** Failed and successful openat calls of a run, counted by strace (the oracle for "no search"). */
function openats(argv: string[], env: Record<string, string>): { failed: number; ok: number; lines: string[] } {
  const dir = tempDir('compat-strace-');
  const out = join(dir, 'trace');
  spawnSync('strace', ['-f', '-qq', '-e', 'trace=openat', '-o', out, ...argv], { env: { ...process.env, ...env }, encoding: 'utf8' });
  const lines = readFileSync(out, 'utf8').split('\n').filter((l) => l.includes('openat('));
  return { failed: lines.filter((l) => / = -1 /.test(l)).length, ok: lines.filter((l) => / = \d+$/.test(l)).length, lines };
}

/** `ldd`'s listing of a program as the loader itself prints it (LD_TRACE_LOADED_OBJECTS): the paths, in load order. */
function loadedPaths(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.replace(/\s*\(0x[0-9a-f]+\)$/, ''))
    .map((l) => (l.includes(' => ') ? l.split(' => ')[1]! : l));
}

function isElf(p: string): boolean {
  const fd = openSync(p, 'r');
  try {
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, 0);
    return b.toString('latin1') === '\x7fELF';
  } finally {
    closeSync(fd);
  }
}

describe('compat cache build / compat run', () => {
  let app: string;
  let ldLibraryPath: string;
  let lib: string;
  let dir: string;
  let cacheFile: string;

  beforeAll(() => {
    dir = tempDir('compat-cache-');
    ({ app, ldLibraryPath, lib } = buildManyLibs(dir, { count: 8, dirs: 40 }));
    cacheFile = join(dir, 'app.cache.json');
    const r = compat(['cache', 'build', app, '-o', cacheFile], { env: { LD_LIBRARY_PATH: ldLibraryPath } });
    expect(r.stderr).toMatch(/wrote .*app\.cache\.json: 9 location\(s\) for 1 input\(s\)/);
    expect(r.status).toBe(0);
  });

  test('the native module is built without a C library: the loader searches nothing to load it', () => {
    const dyn = execFileSync('readelf', ['-d', MODULE], { encoding: 'utf8' });
    expect(dyn).not.toMatch(/NEEDED/);
  });

  test('the table holds what the loader finds, with each file\'s identity', () => {
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8'));
    expect(cache.mediaType).toBe('application/vnd.compspec.compat.cache.v1+json');
    expect(cache.ldLibraryPath).toBe(ldLibraryPath);
    const many0 = cache.entries.find((e: { name: string }) => e.name === 'libmany0.so');
    expect(many0).toMatchObject({ path: join(lib, 'libmany0.so'), via: 'ld_library_path', ino: String(statSync(join(lib, 'libmany0.so')).ino) });
    // What the real loader opens for libc (ldd's answer) is what the table says.
    const ldd = execFileSync('ldd', [app], { env: { ...process.env, LD_LIBRARY_PATH: ldLibraryPath }, encoding: 'utf8' });
    const libc = /libc\.so\.6 => (\S+)/.exec(ldd)![1];
    expect(cache.entries.find((e: { name: string }) => e.name === 'libc.so.6').path).toBe(libc);
  });

  test('under compat run the loader opens each library without a failed open, and loads the same objects', () => {
    const env = { LD_LIBRARY_PATH: ldLibraryPath };
    const plain = openats([app], env);
    // strace inside compat run: only the program's calls are counted, not node's own start-up.
    const traced = join(tempDir('compat-strace-'), 'trace');
    expect(compat(['run', '--cache', cacheFile, '--', 'strace', '-f', '-qq', '-e', 'trace=openat', '-o', traced, app], { env }).status).toBe(0);
    const lines = readFileSync(traced, 'utf8').split('\n');
    const cached = { lines };
    const failedLib = (t: { lines: string[] }) => t.lines.filter((l) => / = -1 /.test(l) && /libmany|libc\.so/.test(l)).length;
    expect(failedLib(plain)).toBeGreaterThan(8 * 20);
    expect(failedLib(cached)).toBe(0);
    const linkMap = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, encoding: 'utf8' }).stdout;
    const viaCache = compat(['run', '--cache', cacheFile, '--', app, '--link-map'], { env });
    expect(viaCache.status).toBe(0);
    expect(viaCache.stdout).toBe(linkMap([app, '--link-map']));
    expect(viaCache.stdout).toContain(join(lib, 'libmany7.so'));
  });

  test('--stats says what the table answered; output and exit code are the command\'s', () => {
    const r = compat(['run', '--cache', cacheFile, '--stats', '--', app], { env: { LD_LIBRARY_PATH: ldLibraryPath } });
    expect(r.stdout).toBe('sum 36\n');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/9 entries; 1 process\(es\); 9 answered from the table, 0 stale \(searched\), 0 not in the table/);
    const exit3 = compat(['run', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect([exit3.status, exit3.stdout, exit3.stderr]).toEqual([3, 'out\n', 'err\n']);
    const killed = compat(['run', '--', 'sh', '-c', 'kill -TERM $$']);
    expect(killed.status).toBe(128 + 15);
  });

  test('a library replaced or removed after cache build is searched for again, and the program still runs', () => {
    const d = tempDir('compat-cache-stale-');
    const built = buildManyLibs(d, { count: 3, dirs: 6 });
    const file = join(d, 'c.json');
    expect(compat(['cache', 'build', built.app, '-o', file], { env: { LD_LIBRARY_PATH: built.ldLibraryPath } }).status).toBe(0);
    // Replaced as package managers do (a new file renamed over the old one)...
    const target = join(built.lib, 'libmany1.so');
    copyFileSync(target, `${target}.new`);
    renameSync(`${target}.new`, target);
    let r = compat(['run', '--cache', file, '--stats', '--', built.app], { env: { LD_LIBRARY_PATH: built.ldLibraryPath } });
    expect(r.stdout).toBe('sum 6\n');
    expect(r.stderr).toMatch(/3 answered from the table, 1 stale \(searched\)/);
    // ...and removed, with a copy later in the search path: the plain loader finds that one, so must we.
    const later = join(d, 'later');
    mkdirSync(later);
    renameSync(join(built.lib, 'libmany2.so'), join(later, 'libmany2.so'));
    const path = `${built.ldLibraryPath}:${later}`;
    const rebuilt = JSON.parse(readFileSync(file, 'utf8'));
    rebuilt.ldLibraryPath = path;
    writeFileSync(file, JSON.stringify(rebuilt));
    r = compat(['run', '--cache', file, '--stats', '--', built.app, '--link-map'], { env: { LD_LIBRARY_PATH: path } });
    expect(r.stdout).toContain(join(later, 'libmany2.so'));
    expect(r.stderr).toMatch(/2 answered from the table, 2 stale \(searched\)/);
  });

  test('cache env: the environment compat run sets up, for a launcher to give every rank (no compat process per rank)', () => {
    const d = tempDir('compat-cache-env-');
    const table = join(d, 'shared', 'app.table');
    const r = compat(['cache', 'env', cacheFile, '-o', table]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`export LD_AUDIT='${MODULE}'\nexport COMPAT_CACHE_TABLE='${table}'\n`);
    const stats = join(d, 'stats');
    mkdirSync(stats);
    // What a launcher does: eval the lines, then start the ranks (here two at once, from one shell).
    const script = `eval "$(cat)"; export COMPAT_CACHE_STATS='${stats}'; "$0" & "$0"; wait`;
    const ranks = spawnSync('sh', ['-c', script, app], { input: r.stdout, env: { ...process.env, LD_LIBRARY_PATH: ldLibraryPath }, encoding: 'utf8' });
    expect(ranks.stdout).toBe('sum 36\nsum 36\n');
    expect(readdirSync(stats)).toHaveLength(2);
    const env = compat(['cache', 'env', '--format', 'env', cacheFile, '-o', table]);
    expect(env.stdout).toBe(`LD_AUDIT=${MODULE}\nCOMPAT_CACHE_TABLE=${table}\n`);
  });

  test('a table from another node, whose paths do not exist here, falls back to the search', () => {
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8'));
    for (const e of cache.entries) e.path = `/nonexistent/node-b${e.path}`;
    const other = join(tempDir('compat-cache-other-'), 'other.json');
    writeFileSync(other, JSON.stringify(cache));
    const r = compat(['run', '--cache', other, '--stats', '--', app], { env: { LD_LIBRARY_PATH: ldLibraryPath } });
    expect(r.stdout).toBe('sum 36\n');
    expect(r.stderr).toMatch(/0 answered from the table, 9 stale \(searched\)/);
  });

  test('another LD_LIBRARY_PATH than the table was built for turns the table off', () => {
    const r = compat(['run', '--cache', cacheFile, '--stats', '--', app], { env: { LD_LIBRARY_PATH: `${lib}:${ldLibraryPath}` } });
    expect(r.stdout).toBe('sum 36\n');
    expect(r.stderr).toMatch(/0 answered.*table not used in 1 process\(es\): LD_LIBRARY_PATH differs/);
  });

  test('names the table does not know (a dlopen()ed module, a child program) are searched as usual', () => {
    const d = tempDir('compat-cache-dlopen-');
    writeFileSync(join(d, 'plug.c'), 'int plug(void) { return 42; }\n');
    gcc(d, ['-shared', '-fPIC', '-o', 'libplug.so', 'plug.c']);
    writeFileSync(join(d, 'host.c'), '#include <dlfcn.h>\n#include <stdio.h>\nint main(void) { void *h = dlopen("libplug.so", RTLD_NOW); if (!h) return 9; int (*f)(void) = (int (*)(void))dlsym(h, "plug"); printf("%d\\n", f()); return 0; }\n');
    gcc(d, ['-o', 'host', 'host.c', '-ldl']);
    const file = join(d, 'c.json');
    expect(compat(['cache', 'build', join(d, 'host'), '-o', file], { env: { LD_LIBRARY_PATH: d } }).status).toBe(0);
    const r = compat(['run', '--cache', file, '--stats', '--', join(d, 'host')], { env: { LD_LIBRARY_PATH: d } });
    expect(r.stdout).toBe('42\n');
    expect(r.stderr).toMatch(/1 answered from the table, 0 stale \(searched\), 1 not in the table/);
    // A recording of the run primes the table with what it dlopen()ed.
    const log = join(d, 'run.jsonl');
    expect(compat(['record', '--out', log, '--', join(d, 'host')], { env: { LD_LIBRARY_PATH: d } }).status).toBe(0);
    const primed = join(d, 'primed.json');
    expect(compat(['cache', 'build', '--from-trace', log, '-o', primed], { env: { LD_LIBRARY_PATH: '/elsewhere' } }).status).toBe(0);
    const cache = JSON.parse(readFileSync(primed, 'utf8'));
    expect(cache.ldLibraryPath).toBe(d);
    expect(cache.entries.find((e: { name: string }) => e.name === 'libplug.so')).toMatchObject({ path: join(d, 'libplug.so'), via: 'ld_library_path' });
    const again = compat(['run', '--cache', primed, '--stats', '--', join(d, 'host')], { env: { LD_LIBRARY_PATH: d } });
    expect(again.stdout).toBe('42\n');
    expect(again.stderr).toMatch(/2 answered from the table, 0 stale \(searched\), 0 not in the table/);
  });

  test('a sample of /usr/bin loads the same objects, path for path, with and without the table', () => {
    const sample: string[] = [];
    for (const f of readdirSync('/usr/bin').sort()) {
      if (sample.length === 25) break;
      const p = join('/usr/bin', f);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st?.isFile() || (st.mode & 0o6000) !== 0 || !isElf(p)) continue;
      if (spawnSync('ldd', [p], { encoding: 'utf8' }).stdout.includes('=>')) sample.push(p);
    }
    expect(sample.length).toBe(25);
    const d = tempDir('compat-cache-usrbin-');
    const file = join(d, 'usr-bin.json');
    expect(compat(['cache', 'build', ...sample, '-o', file], { env: { LD_LIBRARY_PATH: '' } }).status).toBe(0);
    // The loader lists what it maps and stops before running the program (ldd's own mechanism),
    // set by env(1) for each program alone; one compat run for the whole sample.
    const script = 'for p in "$@"; do env LD_TRACE_LOADED_OBJECTS=1 "$p"; echo "--- $p"; done';
    const listing = (out: string) => out.split(/^--- .*$/m).slice(0, -1).map(loadedPaths);
    const plain = spawnSync('sh', ['-c', script, 'sh', ...sample], { env: { ...process.env, LD_LIBRARY_PATH: '' }, encoding: 'utf8' });
    const cached = compat(['run', '--cache', file, '--stats', '--', 'sh', '-c', script, 'sh', ...sample], { env: { LD_LIBRARY_PATH: '' } });
    expect(listing(plain.stdout)).toHaveLength(25);
    expect(listing(plain.stdout).every((paths) => paths.some((x) => x.endsWith('/libc.so.6')))).toBe(true);
    expect(listing(cached.stdout)).toEqual(listing(plain.stdout));
    const answered = Number(/(\d+) answered from the table/.exec(cached.stderr)?.[1]);
    expect(answered).toBeGreaterThanOrEqual(25);
  });

  test('recorded by the recorder, python3 and the many-library program load the same objects under compat run as without it', () => {
    const d = tempDir('compat-cache-record-');
    const dynload = '/usr/lib/python3.11/lib-dynload';
    const mods = ['_ssl', '_sqlite3', '_ctypes', '_json', '_bz2', '_lzma'].map((m) => join(dynload, `${m}.cpython-311-x86_64-linux-gnu.so`));
    const cases = [
      { argv: ['/usr/bin/python3', '-c', 'import json, ssl, sqlite3, ctypes, bz2, lzma'], programs: ['/usr/bin/python3', ...mods], env: { LD_LIBRARY_PATH: '' } },
      { argv: [app], programs: [app], env: { LD_LIBRARY_PATH: ldLibraryPath } },
    ];
    for (const [i, c] of cases.entries()) {
      const file = join(d, `${i}.cache.json`);
      expect(compat(['cache', 'build', ...c.programs, '-o', file], { env: c.env }).status).toBe(0);
      const plain = join(d, `${i}.plain.jsonl`);
      const cached = join(d, `${i}.cached.jsonl`);
      expect(compat(['record', '--events', 'libs', '--out', plain, '--', ...c.argv], { env: c.env }).status).toBe(0);
      const run = compat(['run', '--cache', file, '--stats', '--', process.execPath, join(import.meta.dirname, '..', '..', 'bin', 'run.js'), 'record', '--events', 'libs', '--out', cached, '--', ...c.argv], { env: c.env });
      expect(run.status).toBe(0);
      expect(Number(/(\d+) answered from the table/.exec(run.stderr)?.[1])).toBeGreaterThan(c.programs.length);
      const diff = JSON.parse(compat(['trace', 'diff', '--json', plain, cached]).stdout);
      expect(diff.sets).toMatchObject({ added: [], removed: [], moved: [], changed: [] });
      expect(diff.sets.same).toBeGreaterThan(c.programs.length);
    }
  });

  test('a table pushed to a registry keeps its type, and compat run takes it by reference', async () => {
    const reg = await startRegistry();
    try {
      const home = tempDir('compat-cache-home-');
      const env = isolatedEnv(home, { LD_LIBRARY_PATH: ldLibraryPath });
      const ref = `${reg.host}/apps/many:cache`;
      expect(compat(['push', '--plain-http', ref, cacheFile], { env }).status).toBe(0);
      const manifest = JSON.parse(compat(['manifest', 'fetch', '--plain-http', ref], { env }).stdout);
      expect(manifest.artifactType).toBe('application/vnd.compspec.compat.cache.v1');
      expect(manifest.layers[0].mediaType).toBe('application/vnd.compspec.compat.cache.v1+json');
      const r = compat(['run', '--plain-http', '--cache', ref, '--stats', '--', app], { env });
      expect(r.stdout).toBe('sum 36\n');
      expect(r.stderr).toMatch(/9 answered from the table/);
      // A spec is not a location cache: said in one line.
      const spec = join(home, 'app.compat.json');
      expect(compat(['gen', app, '-o', spec], { env }).status).toBe(0);
      expect(compat(['push', '--plain-http', `${reg.host}/apps/many:spec`, spec], { env }).status).toBe(0);
      expectOneLineError(compat(['run', '--plain-http', '--cache', `${reg.host}/apps/many:spec`, '--', app], { env }), /apps\/many:spec: not a location cache/);
    } finally {
      await reg.dispose();
    }
  });

  test('bad input: one line, exit 2', () => {
    const bad = join(tempDir('compat-cache-bad-'), 'bad.json');
    writeFileSync(bad, '{"mediaType":"application/vnd.compspec.compat.spec.v1+json"}');
    expectOneLineError(compat(['run', '--cache', bad, '--', 'true']), /bad\.json: not a compat location cache/);
    expectOneLineError(compat(['run', '--cache', join(dir, 'missing.json'), '--', 'true']), /missing\.json: no such file/);
    // A device is not a table: refused at once, never read (/dev/zero would never end).
    expectOneLineError(compat(['run', '--cache', '/dev/zero', '--', 'true']), /\/dev\/zero: .*character device/);
    expectOneLineError(compat(['cache', 'env', '/dev/zero', '-o', join(dir, 'never.table')]), /\/dev\/zero: .*character device/);
    expect(existsSync(join(dir, 'never.table'))).toBe(false);
    expectOneLineError(compat(['run', '--', '/nonexistent/prog']), /\/nonexistent\/prog: cannot run it: no such file/);
    expectOneLineError(compat(['cache', 'build', '/bin/sh-not-here']), /sh-not-here/);
    const script = join(tempDir('compat-cache-script-'), 's.sh');
    writeFileSync(script, '#!/bin/sh\n');
    chmodSync(script, 0o755);
    expectOneLineError(compat(['cache', 'build', script]), /s\.sh: is a script/);
    expect(existsSync(MODULE)).toBe(true);
  });
});
