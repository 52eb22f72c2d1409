/**
 * `LoadTrace`: what the loader did (or, for a prediction, would do) for one program, as a plain
 * serializable record. The resolver writes it (`compat deps --json` prints it); a run recorder
 * writes the same shape from rtld-audit callbacks, so the two can be compared field by field.
 *
 * `via` maps one to one onto rtld-audit(7)'s `la_objsearch` flags (`laSer`):
 *
 * | via               | LA_SER_*         | value | glibc step (elf/dl-load.c `_dl_map_object`)       |
 * | ----------------- | ---------------- | ----- | ------------------------------------------------- |
 * | `path`            | `LA_SER_ORIG`    | 0x01  | the name contains '/': opened as given            |
 * | `rpath`           | `LA_SER_RUNPATH` | 0x04  | DT_RPATH (glibc reports it as LA_SER_RUNPATH too) |
 * | `ld_library_path` | `LA_SER_LIBPATH` | 0x02  | LD_LIBRARY_PATH                                   |
 * | `runpath`         | `LA_SER_RUNPATH` | 0x04  | DT_RUNPATH                                        |
 * | `cache`           | `LA_SER_CONFIG`  | 0x08  | /etc/ld.so.cache                                  |
 * | `default`         | `LA_SER_DEFAULT` | 0x40  | the compiled-in system directories                |
 *
 * `executable` and `interpreter` are not searched for (the kernel maps them): `laSer` is 0.
 * `LA_SER_SECURE` (0x80) marks searches restricted by secure (setuid) mode; compat does not model
 * secure mode, so it never appears in a prediction.
 */
export const LA_SER = { ORIG: 0x01, LIBPATH: 0x02, RUNPATH: 0x04, CONFIG: 0x08, DEFAULT: 0x40, SECURE: 0x80 } as const;

export type TraceVia = 'executable' | 'interpreter' | 'path' | 'rpath' | 'ld_library_path' | 'runpath' | 'cache' | 'default';

export const LA_SER_OF: Record<TraceVia, number> = {
  executable: 0,
  interpreter: 0,
  path: LA_SER.ORIG,
  rpath: LA_SER.RUNPATH,
  ld_library_path: LA_SER.LIBPATH,
  runpath: LA_SER.RUNPATH,
  cache: LA_SER.CONFIG,
  default: LA_SER.DEFAULT,
};

/** One object mapped, in load order (executable first, then breadth first, as `_dl_map_object_deps`). */
export interface TraceObject {
  /** The name it was asked for (a DT_NEEDED/filter/preload entry), or the program's own path. */
  name: string;
  path: string;
  via: TraceVia;
  laSer: number;
  /** Path of the object whose request loaded it; null for the executable and its interpreter. */
  neededBy: string | null;
  depth: number;
  /** How it got into the process besides DT_NEEDED. */
  tag?: 'filter' | 'auxiliary' | 'preload';
  /** The file's identity (`_dl_file_id`), when read from a real file system. */
  dev?: number;
  ino?: number;
}

/** Why a candidate file was not taken, in `open_verify`'s terms. */
export type CandidateOutcome =
  /** Opened and accepted. */
  | 'accepted'
  /** No such file (ENOENT); the search goes on. */
  | 'missing'
  /** Another ELF class (32/64-bit): skipped, the search goes on. */
  | 'wrong-class'
  /** Another e_machine: skipped, the search goes on. */
  | 'wrong-machine'
  /** The file stops the load with an error (`message`). */
  | 'stop'
  /** An ld.so.cache answer refused because the requester has DF_1_NODEFLIB. */
  | 'nodeflib';

export interface TraceCandidate {
  path: string;
  via: TraceVia;
  laSer: number;
  outcome: CandidateOutcome;
  message?: string;
}

/** One name looked up on behalf of one object. */
export interface TraceSearch {
  name: string;
  /** Path of the object that asked. */
  requestedBy: string;
  tag?: 'filter' | 'auxiliary' | 'preload';
  /** `loaded`: matched an object already in the process (by name or DT_SONAME, or by file identity). */
  result: 'loaded' | 'found' | 'not-found' | 'error';
  /** Path of the object that satisfies it. */
  path?: string;
  /** Every file the loader would open, in order; empty when the name matched an object already loaded. */
  candidates: TraceCandidate[];
  error?: string;
}

export interface LoadTrace {
  /** Bumped when a field changes meaning. */
  version: 1;
  executable: string;
  /** The working directory relative search entries were taken against. */
  cwd: string;
  objects: TraceObject[];
  searches: TraceSearch[];
  /** Preloads the loader reports and ignores ("cannot be preloaded … ignored"). */
  ignoredPreloads?: Array<{ name: string; from: string; message: string }>;
}
