import { describe, expect, test } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gcc, tempDir, writeTree } from '../helpers/fixtures.js';
import { buildProgram, MODULE, readRawLogs, type RawEvent } from './native-fixtures.js';

const LA_SER_LIBPATH = 0x02;
const LA_SER_RUNPATH = 0x04;
const LA_SER_CONFIG = 0x08;

function run(app: string, args: string[], env: Record<string, string>) {
  return spawnSync(app, args, { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...env }, timeout: 20000 });
}

describe('native/ recorder module', () => {
  test('links no library at all and binds now: loading it costs the loader no search', () => {
    const dyn = execFileSync('readelf', ['-dW', MODULE], { encoding: 'utf8' });
    expect(dyn).not.toMatch(/\(NEEDED\)/);
    expect(dyn).not.toMatch(/\((RPATH|RUNPATH)\)/);
    expect(dyn).toMatch(/\(FLAGS\)\s+BIND_NOW/);
  });

  test('la_version answers the lower of the loader\'s version and its own', () => {
    const dir = tempDir();
    writeTree(dir, {
      'v.c': `#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) { void *h = dlopen(argv[1], RTLD_NOW); if (!h) return 3;
  unsigned (*v)(unsigned) = (unsigned (*)(unsigned))dlsym(h, "la_version");
  printf("%u %u %u\\n", v(1), v(2), v(9)); return 0; }`,
    });
    gcc(dir, ['-o', 'v', 'v.c', '-ldl']);
    const r = run(join(dir, 'v'), [MODULE], {});
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('1 2 2');
  });

  test('records searches with their LA_SER flags, objects with dev/inode, dlopen()ed ones, activity, file calls, threads, fork and exec children', () => {
    const dir = tempDir();
    const { app, libpath, data } = buildProgram(dir);
    const logs = join(dir, 'logs');
    execFileSync('mkdir', [logs]);
    const r = run(app, [data, join(dir, 'plugins', 'plugin.so')], { LD_LIBRARY_PATH: libpath, LD_AUDIT: MODULE, LD_PRELOAD: MODULE, COMPAT_TRACE_DIR: logs });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const files = readRawLogs(logs);
    const all = files.flatMap((f) => f.events);
    const main = all.find((e) => e.ev === 'start' && e.exe === app)!;
    expect(main).toBeDefined();
    const mine = (ev: string) => all.filter((e) => e.pid === main.pid && e.ev === ev);

    // How each library was found, in the loader's own terms.
    const found = (name: string) => mine('search').filter((e) => (e.name as string).endsWith(`/${name}`)).map((e) => e.flag);
    expect(found('libfoo.so')).toContain(LA_SER_LIBPATH);
    expect(found('libbar.so')).toContain(LA_SER_RUNPATH);
    expect(found('libc.so.6')).toContain(LA_SER_CONFIG);
    expect(found('libdep.so')).toContain(LA_SER_RUNPATH);

    const opened = new Map(mine('objopen').map((e) => [e.path as string, e]));
    for (const p of [app, join(libpath, 'libfoo.so'), join(dir, 'rlib', 'libbar.so'), join(dir, 'plugins', 'plugin.so'), join(dir, 'plugins', 'libdep.so')]) {
      const e = opened.get(p);
      expect(e).toBeDefined();
      const st = statSync(p);
      expect([e!.dev, e!.ino, e!.lmid]).toEqual([st.dev, st.ino, 0]);
    }
    expect(mine('activity').map((e) => e.act)).toEqual(expect.arrayContaining(['add', 'consistent']));
    expect(mine('preinit')).toHaveLength(1);
    // The plugin was mapped after the program started: after preinit.
    expect(opened.get(join(dir, 'plugins', 'plugin.so'))!.ts).toBeGreaterThan(mine('preinit')[0]!.ts);

    const calls = mine('open').concat(mine('lookup')).filter((e) => e.path === data || e.path === '/nonexistent/compat-missing');
    expect(new Set(calls.map((e) => e.fn))).toEqual(new Set(['open', 'openat', 'fopen', 'stat', 'lstat', 'access', ...(calls.some((e) => e.fn === 'open64') ? ['open64'] : [])]));
    const missing = calls.find((e) => e.fn === 'lstat')!;
    expect([missing.result, missing.errno]).toEqual([-1, 2]);
    const first = mine('open').find((e) => e.fn === 'open' && e.path === data)!;
    expect(first.fd).toBeGreaterThanOrEqual(3);
    expect(mine('close').some((e) => e.fd === first.fd && e.result === 0 && e.ts > first.ts)).toBe(true);

    // The thread's open carries its own tid.
    const threaded = mine('open').filter((e) => e.path === data && e.tid !== main.pid);
    expect(threaded).toHaveLength(1);

    // Both children wrote logs of their own, named by their pid.
    const children = all.filter((e) => e.ev === 'start' && e.ppid === main.pid);
    const forked = children.find((e) => e.exe === app && e.role === 'files')!;
    expect(forked).toBeDefined();
    expect(all.some((e) => e.pid === forked.pid && e.ev === 'open' && e.path === data)).toBe(true);
    expect(files.some((f) => f.file.startsWith(`${forked.pid}.`))).toBe(true);
    const execed = children.find((e) => (e.exe as string).endsWith('/true') && e.role === 'audit')!;
    expect(execed).toBeDefined();
    expect(all.some((e) => e.pid === execed.pid && e.ev === 'objopen' && (e.path as string).endsWith('/libc.so.6'))).toBe(true);
    // Every event's pid is the pid of the file it is in.
    for (const f of files) for (const e of f.events) expect(f.file.startsWith(`${e.pid}.`)).toBe(true);
  });

  test('buffers: thousands of events cost no write() and a few ftruncate calls', () => {
    const dir = tempDir();
    writeTree(dir, {
      'many.c': `#include <fcntl.h>
#include <unistd.h>
int main(int argc, char **argv) { for (int i = 0; i < 5000; i++) { int fd = open(argv[1], O_RDONLY); close(fd); } return 0; }`,
      'data.txt': 'x',
    });
    gcc(dir, ['-o', 'many', 'many.c']);
    const logs = join(dir, 'logs');
    execFileSync('mkdir', [logs]);
    const trace = join(dir, 'strace.txt');
    const r = spawnSync('strace', ['-f', '-qq', '-o', trace, '-e', 'trace=write,pwrite64,writev,ftruncate', join(dir, 'many'), join(dir, 'data.txt')], {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', LD_PRELOAD: MODULE, COMPAT_TRACE_DIR: logs },
      timeout: 60000,
    });
    expect(r.status).toBe(0);
    // strace itself runs with the module preloaded too: count the program's events only.
    // (its child writes a first log before it execs the program: the program's image has its own.)
    const mine = readRawLogs(logs).find((f) => f.events[0]?.ev === 'start' && f.events[0].exe === join(dir, 'many'))!;
    expect(mine.events.filter((e: RawEvent) => e.ev === 'open' || e.ev === 'close').length).toBe(10000);
    const lines = readFileSync(trace, 'utf8').trim().split('\n');
    expect(lines.filter((l) => /\b(write|pwrite64|writev)\(/.test(l))).toEqual([]);
    const truncs = lines.filter((l) => /ftruncate\(/.test(l)).length;
    expect(truncs).toBeGreaterThan(0);
    expect(truncs).toBeLessThan(10);
  });

  test('candidates through a long LD_LIBRARY_PATH are written short and read back as exactly the files the loader tried, in order', () => {
    const dir = tempDir();
    const names = ['pa', 'pb', 'pc', 'pd', 'pe'];
    const files: Record<string, string> = { 'main.c': `${names.map((n) => `int ${n}(void);`).join(' ')}\nint main(void) { return ${names.map((n) => `${n}()`).join(' + ')} == 5 ? 0 : 1; }\n` };
    for (const n of names) files[`${n}.c`] = `int ${n}(void) { return 1; }\n`;
    writeTree(dir, files);
    // Existing and missing directories, names a JSON string must escape, and neighbours that differ
    // inside one UTF-8 character (é, è: the shared head must stop before it).
    const path: string[] = [];
    for (let i = 0; i < 12; i++) {
      // Deep enough that a whole directory is longer than a short line's inline room.
      const d = join(dir, 'path', 'a-directory-name-long-enough-to-matter', 'and-one-more-level', i % 3 === 0 ? `q"\\\\${i}` : i % 3 === 1 ? `é${i}` : `è${i}`);
      if (i % 2 === 0) execFileSync('mkdir', ['-p', d]);
      path.push(d);
    }
    execFileSync('mkdir', ['-p', join(dir, 'libs'), join(dir, 'logs')]);
    for (const n of names) gcc(dir, ['-shared', '-fPIC', '-o', `libs/lib${n}.so`, `${n}.c`]);
    gcc(dir, ['-o', 'app', 'main.c', '-Llibs', ...names.map((n) => `-l${n}`)]);
    path.push(join(dir, 'libs'));
    const trace = join(dir, 'strace.txt');
    const r = spawnSync('strace', ['-qq', '-o', trace, '-e', 'trace=openat', join(dir, 'app')], {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', LD_LIBRARY_PATH: path.join(':'), LD_AUDIT: MODULE, COMPAT_TRACE_DIR: join(dir, 'logs') },
      timeout: 60000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const log = readRawLogs(join(dir, 'logs')).find((f) => f.events[0]?.exe === join(dir, 'app'))!;
    // Written short: the first searches as [flag, keep, rest] lines, the later ones, which try the
    // same directories in the same order, as [0, count] lines.
    const short = log.raw.filter(Array.isArray) as number[][];
    expect(short.filter((l) => l[0] !== 0).length).toBeGreaterThan(50);
    expect(short.filter((l) => l[0] === 0).reduce((n, l) => n + l[1]!, 0)).toBeGreaterThan(20);
    const lib = /\/libp[a-e]\.so$/;
    const candidates = log.events.filter((e) => e.ev === 'search' && e.flag !== 1 && lib.test(e.name as string)).map((e) => e.name as string);
    // The loader opens each candidate it reports, in the same order (strace writes non-ASCII bytes as octal escapes).
    const unescape = (s: string) => Buffer.from(s.replace(/\\(\d{3})|\\(.)/g, (_m, oct: string | undefined, c: string | undefined) => (oct ? String.fromCharCode(parseInt(oct, 8)) : c!)), 'latin1').toString('utf8');
    const opened = readFileSync(trace, 'utf8')
      .split('\n')
      .map((l) => /^openat\(AT_FDCWD, "((?:[^"\\]|\\.)*)"/.exec(l)?.[1])
      .filter((p): p is string => p !== undefined)
      .map(unescape)
      .filter((p) => lib.test(p));
    expect(candidates.length).toBeGreaterThan(100);
    expect(candidates).toEqual(opened);
    // Each short candidate is its search's: the name it ends with is the one the search asked for.
    let asked = '';
    for (const e of log.events.filter((x) => x.ev === 'search')) {
      if (e.flag === 1) asked = e.name as string;
      else expect((e.name as string).endsWith(`/${asked}`)).toBe(true);
    }
  });
});
