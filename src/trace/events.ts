/**
 * A recording: one header and the events of every process of one run, in time order. The native
 * module writes the events (native/log.h); `compat record` adds the header and merges processes.
 *
 * Every event has `ts` (CLOCK_MONOTONIC nanoseconds; wall-clock ones for strace and fs-record logs,
 * only differences matter), `pid`, `tid` and `ev`:
 *
 * | ev         | from             | fields                                                         |
 * | ---------- | ---------------- | -------------------------------------------------------------- |
 * | `start`    | each image       | `ppid`, `exe`, `role` (`audit` or `files`)                     |
 * | `version`  | `la_version`     | `offered` (the loader's), `current` (the module's)             |
 * | `search`   | `la_objsearch`   | `name` (the name, then each candidate), `flag` (LA_SER_*), `by` (the requester, on the name's own event) |
 * | `objopen`  | `la_objopen`     | `path`, `lmid`, `dev`, `ino`, `main` (1 for the executable)    |
 * | `activity` | `la_activity`    | `act`: `add`, `delete`, `consistent`                           |
 * | `preinit`  | `la_preinit`     | (all start-up objects mapped; the program's initialisers next) |
 * | `objclose` | `la_objclose`    | `path`                                                         |
 * | `open`     | open/openat/fopen… | `fn`, `path`, `dirfd`?, `flags`, `fd` (-1: failed, `errno`)  |
 * | `lookup`   | stat family, access | `fn`, `path`, `dirfd`?, `result`, `errno`?                  |
 * | `close`    | close            | `fd`, `result`, `errno`?                                       |
 * | `exec`     | strace backend   | `path`, `result`                                               |
 *
 * `cut: 1` marks an event whose path was too long to keep whole.
 *
 * The module's own files (one per process image) write most loader candidates in a short form,
 * `[FLAG,KEEP,"REST"]`, which the readers expand into these `search` events (module-log.ts);
 * a candidate then carries the stamp of its name's `search` event.
 */
export interface TraceEvent {
  ts: number;
  pid: number;
  tid: number;
  ev: string;
  [field: string]: unknown;
}

export type EventSet = 'libs' | 'files' | 'all';
export type Backend = 'audit' | 'strace' | 'fs-record';

export interface LogHeader {
  /** Format version of the log; bumped when a field changes meaning. */
  compatTrace: 1;
  command: string[];
  cwd?: string;
  host?: string;
  glibc?: string;
  /** ISO time the run started. */
  start?: string;
  compatVersion?: string;
  events?: EventSet;
  backend?: Backend;
  /** MPI rank of the recorded process, from the launcher's environment. */
  rank?: string;
  /** Exit code of the command (128 + signal number when a signal ended it). */
  exit?: number;
  /** The loader's environment as the command got it (before the recorder added itself). */
  env?: { LD_LIBRARY_PATH?: string; LD_PRELOAD?: string; GLIBC_TUNABLES?: string };
  /** Only this process's events (an `--out-dir` log). */
  pid?: number;
}

export interface RunLog {
  /** Where it was read from (or a name for it). */
  source: string;
  header: LogHeader;
  events: TraceEvent[];
}

export function str(e: TraceEvent, key: string): string | undefined {
  const v = e[key];
  return typeof v === 'string' ? v : undefined;
}

export function num(e: TraceEvent, key: string): number | undefined {
  const v = e[key];
  return typeof v === 'number' ? v : undefined;
}
