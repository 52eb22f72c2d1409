import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gcc, type RunResult } from './fixtures.js';

/**
 * Small root file systems for tests, each runnable with bwrap: the host's own loader, and either
 * the host's libc or a stand-in libc.so.6 built here whose version nodes stop at a chosen glibc
 * (its functions make raw system calls, so programs linked against it really run under the real
 * ld.so, and the real loader's version check decides).
 */

export const MULTIARCH = '/lib/x86_64-linux-gnu';
export const HOST_LOADER = `${MULTIARCH}/ld-linux-x86-64.so.2`;

const GLIBC_NODES = ['2.2.5', '2.2.6', '2.3', '2.3.2', '2.3.3', '2.3.4', '2.4', '2.5', '2.6', '2.7', '2.8', '2.9', '2.10', '2.11', '2.12', '2.13', '2.14', '2.15', '2.16', '2.17', '2.18', '2.22', '2.23', '2.24', '2.25', '2.26', '2.27', '2.28', '2.29', '2.30', '2.31', '2.32', '2.33', '2.34', '2.35', '2.36'];

const LIBC_SOURCE = `
typedef unsigned long size_t;
static long sys3(long n, long a, long b, long c) { long r; __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory"); return r; }
void __libc_early_init(_Bool initial) { (void)initial; }
size_t strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
long write(int fd, const void *b, size_t n) { return sys3(1, fd, (long)b, (long)n); }
int puts(const char *s) { write(1, s, strlen(s)); write(1, "\\n", 1); return 0; }
void exit(int c) { for (;;) sys3(231, c, 0, 0); }
void _exit(int c) { exit(c); }
#ifdef NEWER
unsigned arc4random(void) { return 4; }
#endif
`;

/** A stand-in libc.so.6 defining GLIBC_2.2.5 … GLIBC_<top> (and GLIBC_PRIVATE for ld.so); from 2.36 on, arc4random@@GLIBC_2.36. */
export function fakeLibc(dir: string, top: string): string {
  mkdirSync(dir, { recursive: true });
  const nodes = GLIBC_NODES.slice(0, GLIBC_NODES.indexOf(top) + 1);
  if (nodes.length === 0) throw new Error(`unknown glibc ${top}`);
  const lines = [`GLIBC_2.2.5 { global: strlen; write; puts; exit; _exit; local: *; };`];
  for (let i = 1; i < nodes.length; i++) lines.push(`GLIBC_${nodes[i]} { ${nodes[i] === '2.36' ? 'global: arc4random; ' : ''}} GLIBC_${nodes[i - 1]};`);
  lines.push('GLIBC_PRIVATE { global: __libc_early_init; };');
  writeFileSync(join(dir, 'libc.map'), `${lines.join('\n')}\n`);
  writeFileSync(join(dir, 'libc.c'), LIBC_SOURCE);
  const out = join(dir, 'libc.so.6');
  gcc(dir, ['-shared', '-nostdlib', '-fPIC', '-fno-stack-protector', '-O1', ...(nodes.includes('2.36') ? ['-DNEWER'] : []), '-Wl,-soname,libc.so.6', '-Wl,--version-script=libc.map', '-o', out, 'libc.c']);
  return out;
}

export interface RootOptions {
  /** 'host': the host's own libc.so.6; otherwise the top GLIBC version of a stand-in. */
  libc: 'host' | string;
  /** Extra directories for /etc/ld.so.conf.d/extra.conf (then ldconfig -r builds the root's cache). */
  confDirs?: string[];
}

/**
 * A root: the host loader at its multiarch path, /lib64/ld-linux-x86-64.so.2 as an absolute
 * link to it (as Debian has it), libc, /etc/ld.so.conf with an include, and a cache built by the
 * real ldconfig (`ldcache(root)` again after adding libraries).
 */
export function makeRoot(root: string, opts: RootOptions): string {
  for (const d of [MULTIARCH, '/usr/lib/x86_64-linux-gnu', '/lib64', '/bin', '/etc/ld.so.conf.d', '/usr/bin']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(HOST_LOADER, join(root, HOST_LOADER));
  symlinkSync(HOST_LOADER, join(root, '/lib64/ld-linux-x86-64.so.2'));
  if (opts.libc === 'host') copyFileSync(`${MULTIARCH}/libc.so.6`, join(root, MULTIARCH, 'libc.so.6'));
  else copyFileSync(fakeLibc(join(root, '..', `${root.split('/').pop()}-libc`), opts.libc), join(root, MULTIARCH, 'libc.so.6'));
  writeFileSync(join(root, 'etc/ld.so.conf'), 'include /etc/ld.so.conf.d/*.conf\n');
  writeFileSync(join(root, 'etc/ld.so.conf.d/extra.conf'), `${(opts.confDirs ?? []).join('\n')}\n`);
  for (const d of opts.confDirs ?? []) mkdirSync(join(root, d), { recursive: true });
  ldcache(root);
  return root;
}

/** Rebuilds the root's /etc/ld.so.cache from its /etc/ld.so.conf, as ldconfig does inside it. */
export function ldcache(root: string): void {
  execFileSync('/sbin/ldconfig', ['-X', '-r', root], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Builds a C source into `out` (a path on the host). `libc`: link against this libc.so.6 with no
 * start files (a program then needs `_start`); otherwise the host's gcc defaults.
 */
export function build(out: string, source: string, args: string[], libc?: string): string {
  mkdirSync(dirname(out), { recursive: true });
  const src = `${out}.c`;
  writeFileSync(src, source);
  const base = libc ? ['-nostdlib', '-fno-stack-protector', '-fPIC', '-O1'] : ['-fPIC', '-O1'];
  gcc(dirname(out), [...base, '-o', out, src, ...args, ...(libc ? [libc] : [])]);
  return out;
}

/** Runs `prog` inside `root` as the container would (bwrap), with host files bound at their targets. */
export function runInRoot(root: string, prog: string, binds: Array<[string, string]> = [], env: Record<string, string> = {}): RunResult {
  // bwrap makes a mount point for each bind inside the root: run in a hard-linked copy so the root stays as built.
  const copy = `${root}.run`;
  rmSync(copy, { recursive: true, force: true });
  execFileSync('cp', ['-al', root, copy]);
  try {
    const args = ['--bind', copy, '/', '--dev', '/dev', '--proc', '/proc'];
    for (const [from, to] of binds) args.push('--ro-bind', from, to);
    for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
    const r = spawnSync('bwrap', [...args, '--', prog], { encoding: 'utf8', timeout: 10000, env: { PATH: '/usr/bin:/bin' } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}
