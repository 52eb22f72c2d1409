import { posix } from 'node:path';
import { DF_1_NODEFLIB, DF_1_PIE } from './elf.js';
import { LA_SER_OF, type CandidateOutcome, type LoadTrace, type TraceCandidate, type TraceSearch, type TraceVia } from './load-trace.js';
import type { ObjectFacts, ObjectSource, OpenResult } from './object-source.js';
import type { LoaderPlatform } from './platform.js';

/**
 * The loader's rules, one named function per step of glibc's `ld.so` (2.36), each citing the
 * function it mirrors, and `resolveGraph`, which drives them the way `_dl_map_object_deps` does.
 */

/** How an object was found, in the loader's own vocabulary. */
export type Via = 'executable' | 'interpreter' | 'path' | 'rpath' | 'LD_LIBRARY_PATH' | 'runpath' | 'ld.so.cache' | 'default';

/** Why an object is in the process besides a DT_NEEDED entry. */
export type LoadTag = 'filter' | 'auxiliary' | 'preload';

export interface LoadedObject {
  /** The name first asked for (a DT_NEEDED entry), or the executable's own path. */
  name: string;
  path: string;
  facts: ObjectFacts;
  /** The object that caused this one to load (its index); -1 for the executable. */
  loader: number;
  via: Via;
  depth: number;
  /** What `$ORIGIN` means in this object's own tags: the directory of its real path for the
   * executable, of the path it was opened by for a library (links not followed). */
  origin?: string;
  tag?: LoadTag;
  /** The file's identity as the source reports it (device and inode on disk). */
  dev?: number;
  ino?: number;
}

export interface Missing {
  name: string;
  requestedBy: number;
  /** Files by that name that the loader opened and skipped for being of another class or machine. */
  wrongClass: string[];
  /** Set when the loader would stop with an error rather than keep searching (e.g. a non-ELF file). */
  error?: string;
  /** A DT_FILTER filtee (fatal like a DT_NEEDED entry). */
  tag?: 'filter';
}

export interface Edge {
  from: number;
  name: string;
  /** Index of the object that satisfies it, or -1 when not found. */
  to: number;
}

/** A search that consulted the working directory (a relative or empty entry, a relative name). */
export interface CwdUse {
  object: number;
  name: string;
  source: 'path' | 'rpath' | 'LD_LIBRARY_PATH' | 'runpath';
}

export interface Resolution {
  objects: LoadedObject[];
  edges: Edge[];
  missing: Missing[];
  /** The executable's PT_INTERP, when the loader could not open it as a matching object. */
  interpreterProblem?: string;
  /** Preloads the loader reports and ignores. */
  ignoredPreloads: Array<{ name: string; from: string; message: string }>;
  /** Searches whose answer depends on the directory the program runs in. */
  cwdUses: CwdUse[];
  /** The serializable record of every object and search (only when asked for: `trace: true`). */
  trace?: LoadTrace;
}

export interface ResolveOptions {
  source: ObjectSource;
  platform: LoaderPlatform;
  /** soname → path, as the loader's ld.so.cache lookup answers for this platform. */
  cacheLookup?: (soname: string) => string | undefined;
  ldLibraryPath?: string[];
  /** LD_PRELOAD, then /etc/ld.so.preload entries, in that order (`from` names where each came from). */
  preload?: Array<{ name: string; from: string }>;
  /** Directory that `$ORIGIN` means for the executable (the kernel hands the loader its real path). */
  exeOrigin?: string;
  /** Directory relative names and relative search-path entries are taken against. */
  cwd?: string;
  /** The executable's own device and inode, when it is a real file. */
  exeFile?: { dev: number; ino: number };
  /** Build `Resolution.trace` (costs a record per candidate; `check` does without). */
  trace?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Token expansion and search lists
// ---------------------------------------------------------------------------------------------

/**
 * Expands `$ORIGIN`, `$LIB`, `$PLATFORM` (and their `${…}` forms) as `_dl_dst_substitute` does
 * (tokens recognised as `is_dst` does: the name must end at a non-identifier character).
 * An element whose known token has no value is dropped (undefined); an unknown `$X` stays as is.
 */
export function expandTokens(s: string, origin: string | undefined, platform: Pick<LoaderPlatform, 'lib' | 'platform'>): string | undefined {
  if (!s.includes('$')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    const rest = s.slice(i + 1);
    let matched: [string, number] | undefined;
    for (const tok of ['ORIGIN', 'PLATFORM', 'LIB']) {
      if (rest.startsWith(`{${tok}}`)) matched = [tok, tok.length + 2];
      else if (rest.startsWith(tok) && !/[A-Za-z0-9_]/.test(rest[tok.length] ?? '')) matched = [tok, tok.length];
      if (matched) break;
    }
    if (!matched) {
      out += '$';
      continue;
    }
    const value = matched[0] === 'ORIGIN' ? origin : matched[0] === 'LIB' ? platform.lib : platform.platform;
    if (!value) return undefined;
    out += value;
    i += matched[1];
  }
  return out;
}

/** One directory of a search list; `fromCwd` when it came from a relative or empty entry. */
export interface SearchDir {
  path: string;
  fromCwd: boolean;
}

/**
 * A search list (DT_RPATH, DT_RUNPATH or LD_LIBRARY_PATH) as `decompose_rpath`/`fillin_rpath`
 * build it: tokens expanded, an element whose token has no value dropped, an empty element meaning
 * the current directory, relative elements taken against the working directory, trailing slashes
 * trimmed, each directory once.
 */
export function expandSearchPath(list: readonly string[] | undefined, origin: string | undefined, platform: Pick<LoaderPlatform, 'lib' | 'platform'>, cwd: string): SearchDir[] {
  if (!list) return [];
  const out: SearchDir[] = [];
  for (const el of list) {
    const d = expandTokens(el === '' ? '.' : el, origin, platform);
    if (d === undefined) continue;
    const fromCwd = !d.startsWith('/');
    const path = trimSlash(fromCwd ? posix.join(cwd, d) : d);
    if (!out.some((x) => x.path === path)) out.push({ path, fromCwd });
  }
  return out;
}

/** DT_RPATH counts only for an object without DT_RUNPATH (`_dl_map_object`, `decompose_rpath`). */
export function effectiveRpath(f: Pick<ObjectFacts, 'rpath' | 'runpath'>): string[] | undefined {
  return f.runpath ? undefined : f.rpath;
}

/**
 * Whose DT_RPATH is searched for a request by object `from` (`_dl_map_object`): its own, then
 * that of the object that loaded it, and so on up the chain, then the executable's if the chain
 * did not pass through it; none at all when the requester has DT_RUNPATH.
 */
export function rpathOwners(loaderOf: (i: number) => number, from: number, requesterHasRunpath: boolean): number[] {
  if (requesterHasRunpath) return [];
  const out: number[] = [];
  for (let l = from; l >= 0; l = loaderOf(l)) {
    if (out.includes(l)) break;
    out.push(l);
  }
  if (!out.includes(0)) out.push(0);
  return out;
}

/** One step of the search for a name without '/'. */
export type SearchStep = { via: 'rpath' | 'LD_LIBRARY_PATH' | 'runpath' | 'default'; dirs: SearchDir[] } | { via: 'ld.so.cache' };

/**
 * The search order for one name without '/' (`_dl_map_object`): the inherited DT_RPATH lists
 * (already empty when the requester has DT_RUNPATH), LD_LIBRARY_PATH, the requester's DT_RUNPATH,
 * ld.so.cache, and the default directories unless the requester has `DF_1_NODEFLIB`.
 */
export function searchOrder(rpaths: SearchDir[][], env: SearchDir[], runpath: SearchDir[], defaultDirs: string[], nodeflib: boolean): SearchStep[] {
  const steps: SearchStep[] = rpaths.map((dirs) => ({ via: 'rpath' as const, dirs }));
  steps.push({ via: 'LD_LIBRARY_PATH', dirs: env }, { via: 'runpath', dirs: runpath }, { via: 'ld.so.cache' });
  if (!nodeflib) steps.push({ via: 'default', dirs: defaultDirs.map((d) => ({ path: trimSlash(d), fromCwd: false })) });
  return steps;
}

/**
 * The candidate directories inside one search directory (`open_path` over the capability strings
 * `_dl_important_hwcaps` computes): each subdirectory of `subdirs` in order, '' being the
 * directory itself.
 */
export function candidateDirs(dir: string, subdirs: readonly string[]): readonly string[] {
  // The same few directories in check after check: the same strings (hashed once) each time.
  let byDir = candidatesOf.get(subdirs);
  if (!byDir) candidatesOf.set(subdirs, (byDir = new Map()));
  let out = byDir.get(dir);
  if (!out) {
    if (byDir.size >= CANDIDATES_MAX) byDir.clear();
    const base = dir === '/' ? '' : dir;
    byDir.set(dir, (out = subdirs.map((sub) => (sub ? `${base}/${sub}` : dir))));
  }
  return out;
}

const candidatesOf = new WeakMap<readonly string[], Map<string, readonly string[]>>();
const CANDIDATES_MAX = 256;

/**
 * `DF_1_NODEFLIB` on the requester refuses an ld.so.cache answer whose path starts with a system
 * directory (`_dl_map_object` compares prefixes, so subdirectories of a system directory count).
 */
export function nodeflibRefuses(cached: string, defaultDirs: readonly string[]): boolean {
  return defaultDirs.some((d) => cached.startsWith(`${trimSlash(d)}/`));
}

// ---------------------------------------------------------------------------------------------
// Candidates
// ---------------------------------------------------------------------------------------------

/** What the process's main map is: every object it loads must match. */
export interface ExpectedObject {
  class: 32 | 64;
  machine: number;
  endian: 'little' | 'big';
}

export type CandidateVerdict = { outcome: 'accepted' } | { outcome: 'missing' | 'wrong-class' | 'wrong-machine' } | { outcome: 'stop'; message: string };

const ELFOSABI_SYSV = 0;
const ELFOSABI_GNU = 3;
/** `LIBC_ABI_MAX` of glibc 2.36 on x86 (DEFAULT, UNIQUE, IFUNC, ABSOLUTE). */
const LIBC_ABI_MAX = 4;

/**
 * Whether the loader takes a candidate file, skips it, or stops the whole load
 * (`open_verify` in elf/dl-load.c, then the type checks of `_dl_map_object_from_fd`). Only a
 * missing file, another ELF class or another e_machine let the search go on; anything else wrong
 * with a file of the right name is an error that ends the program.
 */
export function verifyCandidate(r: OpenResult, want: ExpectedObject): CandidateVerdict {
  if (!r.ok) return r.missing ? { outcome: 'missing' } : { outcome: 'stop', message: r.message };
  const f = r.facts;
  if (f.class !== want.class) return { outcome: 'wrong-class' };
  const stop = (message: string): CandidateVerdict => ({ outcome: 'stop', message });
  if (f.endian !== want.endian) return stop(`ELF file data encoding not ${want.endian}-endian`);
  if (f.identVersion !== undefined && f.identVersion !== 1) return stop('ELF file version ident does not match current one');
  if (f.osabi !== ELFOSABI_SYSV && f.osabi !== ELFOSABI_GNU) return stop('ELF file OS ABI invalid');
  const abi = f.abiversion ?? 0;
  if (abi !== 0 && !(f.osabi === ELFOSABI_GNU && abi < LIBC_ABI_MAX)) return stop('ELF file ABI version invalid');
  if (f.version !== undefined && f.version !== 1) return stop('ELF file version does not match current one');
  if (f.machine !== want.machine) return { outcome: 'wrong-machine' };
  if (f.type !== 'dyn' && f.type !== 'exec') return stop('only ET_DYN and ET_EXEC can be loaded');
  if (f.type === 'exec') return stop('cannot dynamically load executable');
  if ((f.flags1 & DF_1_PIE) !== 0) return stop('cannot dynamically load position-independent executable');
  return { outcome: 'accepted' };
}

// ---------------------------------------------------------------------------------------------
// Objects already loaded
// ---------------------------------------------------------------------------------------------

/**
 * The object already loaded under `name` (`_dl_map_object`'s first loop with `_dl_name_match_p`):
 * a name it was loaded as, or its DT_SONAME, which then becomes one of its names.
 */
export function findLoaded(objects: ReadonlyArray<Pick<LoadedObject, 'facts'>>, names: Array<Set<string>>, name: string): number {
  for (let i = 0; i < objects.length; i++) {
    if (names[i]!.has(name)) return i;
    if (objects[i]!.facts.soname === name) {
      names[i]!.add(name);
      return i;
    }
  }
  return -1;
}

/**
 * The identity of an opened file (`_dl_file_id`): device and inode where the source knows them,
 * else what the source says identifies the file, else its path. Two names for one file load it once.
 */
export function fileIdOf(r: Extract<OpenResult, { ok: true }>, path: string): string {
  return r.id ?? posix.normalize(path);
}

// ---------------------------------------------------------------------------------------------
// The driver
// ---------------------------------------------------------------------------------------------

interface Found {
  path: string;
  via: Via;
  opened: Extract<OpenResult, { ok: true }>;
}
interface NotFound {
  wrong: string[];
  error?: string;
}

const TRACE_VIA: Record<Via, TraceVia> = {
  executable: 'executable',
  interpreter: 'interpreter',
  path: 'path',
  rpath: 'rpath',
  LD_LIBRARY_PATH: 'ld_library_path',
  runpath: 'runpath',
  'ld.so.cache': 'cache',
  default: 'default',
};

/** The rtld-audit vocabulary of a `Via` (see load-trace.ts for the LA_SER_* mapping). */
export function traceVia(v: Via): TraceVia {
  return TRACE_VIA[v];
}

/** One resolution's state: the loaded objects, their names and identities, search lists expanded once. */
class GraphResolver {
  readonly res: Resolution;
  private readonly names: Array<Set<string>> = [];
  private readonly ids = new Map<string, number>();
  private readonly origins: string[] = [];
  private readonly rpathDirs: SearchDir[][] = [];
  private readonly runpathDirs: SearchDir[][] = [];
  private readonly envPath: SearchDir[];
  private readonly cwd: string;
  private readonly want: ExpectedObject;
  /** Directories found missing once; the loader remembers them and tries them no more. */
  private readonly knownMissing = new Set<string>();
  private candidates: TraceCandidate[] | undefined;

  constructor(
    exePath: string,
    private readonly exe: ObjectFacts,
    private readonly opts: ResolveOptions,
  ) {
    this.cwd = opts.cwd ?? process.cwd();
    this.want = { class: exe.class, machine: exe.machine, endian: exe.endian };
    this.res = { objects: [], edges: [], missing: [], ignoredPreloads: [], cwdUses: [] };
    if (opts.trace) this.res.trace = { version: 1, executable: exePath, cwd: this.cwd, objects: [], searches: [] };
    this.push({ name: exePath, path: exePath, facts: exe, loader: -1, via: 'executable', depth: 0, ...(opts.exeFile ?? {}) }, opts.exeOrigin ?? posix.dirname(this.absolute(exePath)));
    this.envPath = expandSearchPath(opts.ldLibraryPath, this.origins[0], opts.platform, this.cwd);
  }

  private absolute(p: string): string {
    return p.startsWith('/') ? p : posix.join(this.cwd, p);
  }

  private push(o: LoadedObject, origin: string, id?: string): number {
    const i = this.res.objects.length;
    o.origin = origin;
    this.res.objects.push(o);
    this.names.push(new Set([o.name]));
    this.origins.push(origin);
    if (id !== undefined) this.ids.set(id, i);
    return i;
  }

  /** A shared object has no PT_INTERP; whatever loads it brings the platform's own loader along. */
  loadInterpreter(): void {
    const interpreter = this.exe.interpreter ?? this.opts.platform.interpreter;
    if (!interpreter) return;
    const r = this.opts.source.open(interpreter);
    if (r.ok && r.facts.class === this.want.class && r.facts.machine === this.want.machine && r.facts.endian === this.want.endian) {
      this.push({ name: interpreter, path: interpreter, facts: r.facts, loader: -1, via: 'interpreter', depth: 0, ...fileFields(r) }, posix.dirname(interpreter), fileIdOf(r, interpreter));
    } else {
      this.res.interpreterProblem = r.ok ? `${interpreter} is of another class or machine` : r.missing ? `${interpreter} not found` : r.message;
    }
  }

  /** `do_preload` (elf/rtld.c): each preload is mapped for the executable; one that cannot be is reported and ignored. */
  loadPreloads(): void {
    for (const p of this.opts.preload ?? []) {
      // An empty name matches the main map's empty l_name: nothing is loaded.
      if (p.name === '') continue;
      const r = this.request(0, p.name, 'preload');
      if (r === undefined) continue;
      const message = r.error ?? (r.wrong.length ? `wrong ELF class or machine: ${r.wrong.join(', ')}` : 'cannot open shared object file: No such file or directory');
      const ignored = { name: p.name, from: p.from, message };
      this.res.ignoredPreloads.push(ignored);
      if (this.res.trace) (this.res.trace.ignoredPreloads ??= []).push(ignored);
    }
  }

  /** `_dl_map_object_deps`: breadth first over DT_NEEDED, then each object's filtees. */
  run(): Resolution {
    const objects = this.res.objects;
    for (let i = 0; i < objects.length; i++) {
      const f = objects[i]!.facts;
      for (const name of f.needed) this.need(i, name);
      for (const name of f.filters ?? []) this.need(i, name, 'filter');
      // A DT_AUXILIARY filtee that cannot be loaded is ignored.
      for (const name of f.auxiliary ?? []) this.request(i, name, 'auxiliary');
    }
    return this.res;
  }

  private need(from: number, name: string, tag?: 'filter'): void {
    const r = this.request(from, name, tag);
    if (r === undefined) return;
    this.res.missing.push({ name, requestedBy: from, wrongClass: r.wrong, ...(r.error !== undefined ? { error: r.error } : {}), ...(tag ? { tag } : {}) });
    this.res.edges.push({ from, name, to: -1 });
  }

  /**
   * Maps `name` for object `from` (`_dl_map_object`): an already loaded match, else a search, then
   * the file identity check. Undefined when mapped (or already there), the failure otherwise.
   */
  private request(from: number, name: string, tag?: LoadTag): NotFound | undefined {
    const search: TraceSearch | undefined = this.res.trace ? { name, requestedBy: this.res.objects[from]!.path, ...(tag ? { tag } : {}), result: 'loaded', candidates: [] } : undefined;
    if (search) this.res.trace!.searches.push(search);
    const hit = findLoaded(this.res.objects, this.names, name);
    if (hit >= 0) {
      this.res.edges.push({ from, name, to: hit });
      if (search) search.path = this.res.objects[hit]!.path;
      return undefined;
    }
    this.candidates = search?.candidates;
    const r = this.search(name, from);
    this.candidates = undefined;
    if (!('path' in r)) {
      if (search) {
        search.result = r.error !== undefined ? 'error' : 'not-found';
        if (r.error !== undefined) search.error = r.error;
      }
      return r;
    }
    if (search) {
      search.result = 'found';
      search.path = r.path;
    }
    const id = fileIdOf(r.opened, r.path);
    const same = this.ids.get(id);
    if (same !== undefined) {
      // `_dl_map_object_from_fd`: the file is already loaded under another name; that name is added.
      this.names[same]!.add(name);
      this.res.edges.push({ from, name, to: same });
      if (search) {
        search.result = 'loaded';
        search.path = this.res.objects[same]!.path;
      }
      return undefined;
    }
    const depth = this.res.objects[from]!.depth + 1;
    const i = this.push({ name, path: r.path, facts: r.opened.facts, loader: from, via: r.via, depth, ...(tag ? { tag } : {}), ...fileFields(r.opened) }, posix.dirname(this.absolute(r.path)), id);
    this.res.edges.push({ from, name, to: i });
    return undefined;
  }

  private rpathOf(i: number): SearchDir[] {
    return (this.rpathDirs[i] ??= expandSearchPath(effectiveRpath(this.res.objects[i]!.facts), this.origins[i], this.opts.platform, this.cwd));
  }

  private runpathOf(i: number): SearchDir[] {
    return (this.runpathDirs[i] ??= expandSearchPath(this.res.objects[i]!.facts.runpath, this.origins[i], this.opts.platform, this.cwd));
  }

  private note(path: string, via: Via, outcome: CandidateOutcome, message?: string): void {
    this.candidates?.push({ path, via: TRACE_VIA[via], laSer: LA_SER_OF[TRACE_VIA[via]], outcome, ...(message !== undefined ? { message } : {}) });
  }

  /** Opens one candidate and applies `verifyCandidate`: a hit, a skip (recorded in `nf`), or a stop. */
  private tryFile(path: string, via: Via, nf: NotFound): Found | 'stop' | undefined {
    const r = this.opts.source.open(path);
    const v = verifyCandidate(r, this.want);
    this.note(path, via, v.outcome, v.outcome === 'stop' ? v.message : undefined);
    if (v.outcome === 'accepted') return { path, via, opened: r as Extract<OpenResult, { ok: true }> };
    if (v.outcome === 'stop') {
      // As the loader's message does, name the file that stopped it.
      nf.error = v.message.includes(path) ? v.message : `${path}: ${v.message}`;
      return 'stop';
    }
    if (v.outcome !== 'missing') nf.wrong.push(path);
    return undefined;
  }

  /** `open_path`: each directory of a list, each hwcaps/legacy subdirectory inside it. */
  private searchDirs(dirs: SearchDir[], name: string, via: Via, from: number, nf: NotFound): Found | 'stop' | undefined {
    for (const dir of dirs) {
      if (dir.fromCwd && via !== 'default') this.res.cwdUses.push({ object: from, name, source: via as CwdUse['source'] });
      for (const d of candidateDirs(dir.path, this.opts.platform.subdirs)) {
        const listed = this.opts.source.list(d);
        const path = `${d === '/' ? '' : d}/${name}`;
        if (!listed?.has(name)) {
          if (this.candidates && (listed || !this.knownMissing.has(d))) this.note(path, via, 'missing');
          if (!listed) this.knownMissing.add(d);
          continue;
        }
        const r = this.tryFile(path, via, nf);
        if (r !== undefined) return r;
      }
    }
    return undefined;
  }

  /** The search for one name (`_dl_map_object`), following `searchOrder`. */
  private search(name: string, from: number): Found | NotFound {
    const nf: NotFound = { wrong: [] };
    const req = this.res.objects[from]!;
    if (name.includes('/')) {
      const expanded = expandTokens(name, this.origins[from], this.opts.platform);
      if (expanded === undefined) return nf;
      if (!expanded.startsWith('/')) this.res.cwdUses.push({ object: from, name, source: 'path' });
      const r = this.tryFile(this.absolute(expanded), 'path', nf);
      return r === 'stop' || r === undefined ? nf : r;
    }
    const top = req.facts;
    const nodeflib = (top.flags1 & DF_1_NODEFLIB) !== 0;
    const owners = rpathOwners((i) => this.res.objects[i]!.loader, from, top.runpath !== undefined);
    const steps = searchOrder(
      owners.map((o) => this.rpathOf(o)),
      this.envPath,
      this.runpathOf(from),
      this.opts.platform.defaultDirs,
      nodeflib,
    );
    for (const step of steps) {
      const r = step.via === 'ld.so.cache' ? this.fromCache(name, nodeflib, nf) : this.searchDirs(step.dirs, name, step.via, from, nf);
      if (r === 'stop') return nf;
      if (r !== undefined) return r;
    }
    return nf;
  }

  /** ld.so.cache: its answer is opened like any candidate; NODEFLIB refuses system paths. */
  private fromCache(name: string, nodeflib: boolean, nf: NotFound): Found | 'stop' | undefined {
    const cached = this.opts.cacheLookup?.(name);
    if (cached === undefined) return undefined;
    if (nodeflib && nodeflibRefuses(cached, this.opts.platform.defaultDirs)) {
      this.note(cached, 'ld.so.cache', 'nodeflib');
      return undefined;
    }
    return this.tryFile(cached, 'ld.so.cache', nf);
  }

  /** The trace's list of objects, from the resolution (paths of the requesters, not indexes). */
  finishTrace(): void {
    const t = this.res.trace;
    if (!t) return;
    const objs = this.res.objects;
    t.objects = objs.map((o) => {
      const via = TRACE_VIA[o.via];
      return {
        name: o.name,
        path: o.path,
        via,
        laSer: LA_SER_OF[via],
        neededBy: o.loader >= 0 ? objs[o.loader]!.path : null,
        depth: o.depth,
        ...(o.tag ? { tag: o.tag } : {}),
        ...(o.dev !== undefined ? { dev: o.dev, ino: o.ino } : {}),
      };
    });
  }
}

function fileFields(r: Extract<OpenResult, { ok: true }>): { dev?: number; ino?: number } {
  return r.dev !== undefined ? { dev: r.dev, ino: r.ino } : {};
}

/**
 * Loads an executable's dependency graph as glibc's ld.so does (`_dl_map_object_deps`): the
 * executable, its interpreter, the preloads, then breadth first over DT_NEEDED (and filtees),
 * each name through `findLoaded`, `searchOrder`, `verifyCandidate` and the file identity check.
 */
export function resolveGraph(exePath: string, exe: ObjectFacts, opts: ResolveOptions): Resolution {
  const g = new GraphResolver(exePath, exe, opts);
  g.loadInterpreter();
  g.loadPreloads();
  const res = g.run();
  g.finishTrace();
  return res;
}

export interface VersionProblem {
  /** Index of the object that needs the version. */
  object: number;
  /** The library that should define it (the Verneed file name). */
  file: string;
  /** Index of the loaded object that was asked. */
  provider: number;
  version: string;
}

/**
 * The loader's version check (`_dl_check_map_versions`): every non-weak version an object needs
 * must be defined by the loaded object of that name. A provider with no version definitions at
 * all passes, as glibc lets it.
 */
export function versionProblems(res: Pick<Resolution, 'objects' | 'edges'>): VersionProblem[] {
  const out: VersionProblem[] = [];
  const providerOf = (from: number, file: string): number => {
    const e = res.edges.find((x) => x.from === from && x.name === file && x.to >= 0);
    if (e) return e.to;
    return res.objects.findIndex((o) => o.facts.soname === file || o.name === file);
  };
  res.objects.forEach((obj, i) => {
    for (const need of obj.facts.verneed) {
      const p = providerOf(i, need.file);
      if (p < 0) continue;
      const defs = res.objects[p]!.facts.verdef;
      if (defs.length === 0) continue;
      for (const v of need.versions) {
        if (!v.weak && !defs.includes(v.name)) out.push({ object: i, file: need.file, provider: p, version: v.name });
      }
    }
  });
  return out;
}

function trimSlash(d: string): string {
  let s = d;
  while (s.length > 1 && s.endsWith('/')) s = s.slice(0, -1);
  return s;
}
