import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventSet, TraceEvent } from './events.js';

/**
 * The strace backend, for what the loader never sees (static binaries, setuid programs): `strace
 * -ff` writes one file per process (no interleaved `<unfinished ...>` lines), each line a syscall
 * with a Unix-time stamp in nanoseconds. Its calls become the events the interposer writes.
 */
export function straceArgs(events: EventSet, prefix: string): string[] {
  const trace = events === 'libs' ? 'trace=/^(open|openat|execve)$' : 'trace=%file,close';
  return ['-ff', '-qq', '-o', prefix, '--timestamps=unix,ns', '-e', trace];
}

const LINE = /^(\d+)\.(\d{9}) (\w+)\((.*)\)\s+= (-?\d+|\?)(?: (E[A-Z0-9]+))?/;
const ERRNO: Record<string, number> = { EPERM: 1, ENOENT: 2, EACCES: 13, EEXIST: 17, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ELOOP: 40, ENAMETOOLONG: 36, ENXIO: 6, EROFS: 30 };
const OFLAGS: Record<string, number> = {
  O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_CREAT: 0o100, O_EXCL: 0o200, O_NOCTTY: 0o400, O_TRUNC: 0o1000, O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000, O_DSYNC: 0o10000, O_DIRECT: 0o40000, O_LARGEFILE: 0o100000, O_DIRECTORY: 0o200000, O_NOFOLLOW: 0o400000,
  O_NOATIME: 0o1000000, O_CLOEXEC: 0o2000000, O_PATH: 0o10000000, O_TMPFILE: 0o20200000,
};
const LOOKUPS = new Set(['stat', 'lstat', 'newfstatat', 'statx', 'access', 'faccessat', 'faccessat2', 'readlink', 'readlinkat']);

/** A C string literal as strace prints it (`"a\"b\x01"`), from `at`; returns the text and where it ended. */
function cString(s: string, at: number): { text: string; end: number } | undefined {
  if (s[at] !== '"') return undefined;
  const bytes: number[] = [];
  let i = at + 1;
  for (; i < s.length && s[i] !== '"'; i++) {
    if (s[i] !== '\\') {
      bytes.push(...Buffer.from(s[i]!, 'utf8'));
      continue;
    }
    const c = s[++i]!;
    if (c === 'x') {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/[0-7]/.test(c)) {
      const m = /^[0-7]{1,3}/.exec(s.slice(i))![0];
      bytes.push(parseInt(m, 8));
      i += m.length - 1;
    } else bytes.push(({ n: 10, t: 9, r: 13, v: 11, f: 12 } as Record<string, number>)[c] ?? c.charCodeAt(0));
  }
  return { text: Buffer.from(bytes).toString('utf8'), end: i + 1 };
}

function flagsOf(text: string | undefined): number {
  if (!text) return 0;
  return text.split('|').reduce((acc, f) => acc | (OFLAGS[f.trim()] ?? 0), 0);
}

/** One line of one process's file, as an event; undefined for calls the log does not keep. */
export function straceEvent(line: string, pid: number, epoch: number): TraceEvent | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [, sec, nsec, call, args, ret, err] = m;
  const ts = (Number(sec) - epoch) * 1e9 + Number(nsec);
  const result = ret === '?' ? 0 : Number(ret);
  const base: TraceEvent = { ts, pid, tid: pid, ev: '' };
  const errno = result < 0 && err ? { errno: ERRNO[err] ?? 0 } : {};
  if (call === 'close') return { ...base, ev: 'close', fd: Number(args), result, ...errno };
  const atForm = /^(AT_FDCWD|-?\d+), /.exec(args!);
  const pathAt = atForm && call !== 'open' && call !== 'execve' && call !== 'stat' && call !== 'lstat' && call !== 'access' ? atForm[0].length : 0;
  const path = cString(args!, pathAt);
  if (!path) return undefined;
  const dirfd = pathAt && atForm![1] !== 'AT_FDCWD' ? { dirfd: Number(atForm![1]) } : {};
  if (call === 'execve') return { ...base, ev: 'exec', path: path.text, result };
  if (call === 'open' || call === 'openat' || call === 'creat') {
    const flags = call === 'creat' ? 0o1101 : flagsOf(args!.slice(path.end).split(',')[1]);
    return { ...base, ev: 'open', fn: call, path: path.text, ...dirfd, flags, fd: result, ...errno };
  }
  if (LOOKUPS.has(call!)) {
    if (path.text === '') return undefined; // fstat through the *at form: no name looked up
    return { ...base, ev: 'lookup', fn: call, path: path.text, ...dirfd, result: result < 0 ? -1 : 0, ...errno };
  }
  return undefined;
}

/** Every `prefix.<pid>` file strace wrote into `dir`. */
export function readStraceDir(dir: string, base: string): TraceEvent[] {
  const files = readdirSync(dir).filter((f) => f.startsWith(`${base}.`) && /^\d+$/.test(f.slice(base.length + 1)));
  const texts = files.map((f) => ({ pid: Number(f.slice(base.length + 1)), lines: readFileSync(join(dir, f), 'utf8').split('\n') }));
  const firstSec = Math.min(...texts.flatMap((t) => (/^(\d+)\./.exec(t.lines[0] ?? '') ? [Number(/^(\d+)\./.exec(t.lines[0]!)![1])] : [])));
  const epoch = Number.isFinite(firstSec) ? firstSec : 0;
  const events: TraceEvent[] = [];
  for (const t of texts) for (const l of t.lines) {
    const e = straceEvent(l, t.pid, epoch);
    if (e) events.push(e);
  }
  return events;
}
