import { createHash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, realpathSync, rmSync, statSync } from 'node:fs';
import { endianness, homedir } from 'node:os';
import { posix } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { readElf } from './elf.js';
import { FormatError } from './file-reader.js';
import { hostX86IsaLevel } from './isa.js';
import { cacheFlagsFor, cacheLookupTable, HWCAP_EXTENSION, type LdCache, readLdCache } from './ldcache.js';
import { readLdSoConf } from './ld-so-conf.js';
import { DiskSource, factsOf, type ObjectFacts, type ObjectSource, type OpenResult, resolveInRoot } from './object-source.js';
import { loaderPlatform, type LoaderPlatform } from './platform.js';
import { normalPath } from './paths.js';
import { highestVersion } from './versions.js';

export const INDEX_VERSION = 3;

/** Everything the loader could find on this node, keyed the way the loader looks things up. */
export interface HostIndex {
  version: number;
  fingerprint: string;
  created: string;
  /** The node's own platform (its loader's machine and class). */
  machine: number;
  class: 32 | 64;
  hwcaps: string[];
  cachePath: string;
  cacheEntries: Array<{ soname: string; path: string; flags: number; hwcapsName?: string; plain: boolean }>;
  /** Directories indexed, each entry name → the key of its facts in `objects` (null: not a loadable ELF object). */
  dirs: Record<string, Record<string, string | null>>;
  objects: Record<string, ObjectFacts>;
  /** Extra directories asked for with `--path` (and LD_LIBRARY_PATH at scan time). */
  extraDirs: string[];
  /** The highest `GLIBC_x.y` the node's libc defines, when it has one. */
  glibc?: string;
  /** x86 nodes: the CPU's ISA level bits as the loader computes them (`isa_1`). */
  x86IsaLevel?: number;
  /**
   * Where each object's defined dynamic symbols are (symbol-table.ts form): a file beside the index
   * (its absolute path here) holding the tables back to back; `toc` maps an object's key to [first entry, count,
   * 1 when it has no `.gnu.version`]. Read only for the libraries a check reaches.
   */
  symbols?: { file: string; toc: Record<string, [number, number, number]> };
  /**
   * The root file system indexed as if it were `/` (absolute host path); absent for the node's own
   * `/`. Directory names and cache paths are as seen inside it; `objects` keys are host paths.
   */
  root?: string;
  /** Directories the root's `/etc/ld.so.conf` names (with its includes), as ldconfig reads them. */
  ldSoConf?: string[];
}

/** An object's defined symbols as a check binds against them. */
export interface DefinedSymbols {
  table: Uint32Array;
  /** No `.gnu.version`: check_match takes any version from it (or asserts, for the object named in the need). */
  unversioned: boolean;
}

/** Tables of an index scanned in this process, until `saveIndex` writes them out. */
const scannedTables = new WeakMap<HostIndex, Map<string, DefinedSymbols>>();

export interface ScanOptions {
  extraDirs?: string[];
  cachePath?: string;
  /** Where the index is persisted; defaults to `$XDG_CACHE_HOME/compat/host-index.json`. */
  indexFile?: string;
  /** Index this root file system as if it were `/` (absolute; `/` or absent: the node itself). */
  root?: string;
}

const HOST_INTERPRETERS = ['/lib64/ld-linux-x86-64.so.2', '/lib/ld-linux.so.2', '/lib/ld-linux-aarch64.so.1', '/lib/ld-linux-armhf.so.3'];

/** The node's index file, or (`root`) one per root file system beside it, named by a hash of the root. */
export function defaultIndexFile(root?: string): string {
  const base = process.env.XDG_CACHE_HOME || posix.join(homedir(), '.cache');
  const name = root === undefined || root === '/' ? 'host-index.json' : `host-index-root-${createHash('sha256').update(root).digest('hex').slice(0, 16)}.json`;
  return posix.join(base, 'compat', name);
}

/** `root` made absolute; undefined for the node's own `/`. */
export function normalRoot(root: string | undefined): string | undefined {
  if (root === undefined) return undefined;
  const abs = posix.resolve(root);
  return abs === '/' ? undefined : abs;
}

/** A path as the loader inside `root` sees it, on the host (links resolved inside the root). */
export function inRoot(root: string | undefined, p: string): string {
  return root === undefined ? p : resolveInRoot(root, p);
}

/** The loader platform native to the node, or to `root` (told by its shell, else its loader). */
export function hostPlatform(root?: string): LoaderPlatform {
  // The node's native loader: read it from the node's own interpreter (what `/bin/sh` runs under);
  // a root without a shell is told by its loader.
  const candidates = root === undefined ? ['/bin/sh', '/usr/bin/env', process.execPath] : ['/bin/sh', '/usr/bin/env', ...HOST_INTERPRETERS];
  for (const candidate of candidates) {
    try {
      const e = readElf(inRoot(root, candidate));
      return loaderPlatform(e.machine, e.class, root ?? '/');
    } catch {
      /* try the next one */
    }
  }
  return loaderPlatform(62, 64, root ?? '/');
}

/** The dirs the index covers: default dirs, every directory the cache points into, extras; with their hwcaps subdirs. */
function dirsToIndex(platform: LoaderPlatform, cache: LdCache | null, extra: string[]): string[] {
  const top = new Set<string>([...platform.defaultDirs, ...extra.map((d) => posix.resolve(d))]);
  for (const e of cache?.entries ?? []) {
    let d = posix.dirname(e.path);
    if (e.hwcapsName && d.endsWith(`/glibc-hwcaps/${e.hwcapsName}`)) d = d.slice(0, -`/glibc-hwcaps/${e.hwcapsName}`.length);
    top.add(d);
  }
  const all: string[] = [];
  for (const d of top) for (const sub of platform.subdirs) all.push(sub ? `${d}/${sub}` : d);
  return all;
}

function stamp(path: string, root?: string): string {
  if (root !== undefined) path = resolveInRoot(root, path);
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return '-';
  }
}

/** Changes whenever the cache file or any indexed directory gains, loses or replaces an entry. */
export function fingerprintOf(cachePath: string, dirs: string[], extra: string[], root?: string): string {
  const h = createHash('sha256');
  h.update(`v${INDEX_VERSION}\0${cachePath}\0${stamp(cachePath)}\0${extra.join(':')}\0`);
  if (root !== undefined) h.update(`root\0${root}\0`);
  for (const d of dirs) h.update(`${d}\0${stamp(d, root)}\0`);
  return h.digest('hex').slice(0, 32);
}

export function scanHost(opts: ScanOptions = {}): HostIndex {
  const root = normalRoot(opts.root);
  const platform = hostPlatform(root);
  const cachePath = opts.cachePath ?? inRoot(root, '/etc/ld.so.cache');
  let cache: LdCache | null = null;
  try {
    cache = readLdCache(cachePath);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
  }
  const extra = opts.extraDirs ?? [];
  const dirList = dirsToIndex(platform, cache, extra);
  const dirs: HostIndex['dirs'] = {};
  const objects: HostIndex['objects'] = {};
  const byReal = new Map<string, string | null>();
  const tables = new Map<string, DefinedSymbols>();
  const factsFor = (path: string): string | null => {
    let real: string;
    try {
      // Inside a root, links resolve inside it (an absolute one means the root's `/`).
      real = realpathSync.native(inRoot(root, path));
    } catch {
      return null;
    }
    if (byReal.has(real)) return byReal.get(real)!;
    let key: string | null = null;
    try {
      const elf = readElf(real, { symbols: 'defs' });
      if (elf.type === 'dyn') {
        key = real;
        const { symbols, ...facts } = factsOf(elf);
        objects[real] = facts;
        if (symbols) tables.set(real, { table: symbols.defs, unversioned: !symbols.hasVersym });
      }
    } catch {
      key = null;
    }
    byReal.set(real, key);
    return key;
  };
  for (const d of dirList) {
    let names: string[];
    try {
      names = readdirSync(inRoot(root, d));
    } catch {
      continue;
    }
    const entries: Record<string, string | null> = {};
    for (const n of names) entries[n] = /\.so(\.|$)|^ld-/.test(n) ? factsFor(`${d}/${n}`) : null;
    dirs[d] = entries;
  }
  for (const i of HOST_INTERPRETERS) {
    const key = factsFor(i);
    if (key) {
      const d = posix.dirname(i);
      dirs[d] ??= {};
      dirs[d]![posix.basename(i)] = key;
    }
  }
  const libc = Object.values(objects).find((o) => o.soname === 'libc.so.6' && o.machine === platform.machine && o.class === platform.class);
  const glibc = libc ? highestVersion(libc.verdef, 'GLIBC_') : undefined;
  const index: HostIndex = {
    version: INDEX_VERSION,
    fingerprint: fingerprintOf(cachePath, dirList, extra, root),
    created: new Date().toISOString(),
    machine: platform.machine,
    class: platform.class,
    hwcaps: platform.hwcaps,
    cachePath,
    cacheEntries: (cache?.entries ?? []).map((e) => ({ soname: e.soname, path: e.path, flags: e.flags, ...(e.hwcapsName ? { hwcapsName: e.hwcapsName } : {}), plain: e.hwcap === 0n })),
    dirs,
    objects,
    extraDirs: extra,
    ...(glibc ? { glibc } : {}),
    ...(platform.machine === 62 || platform.machine === 3 ? { x86IsaLevel: hostX86IsaLevel() } : {}),
    ...(root !== undefined ? { root, ldSoConf: readLdSoConf(root) } : {}),
  };
  scannedTables.set(index, tables);
  return index;
}

/**
 * Persists atomically: the symbol tables first, under a fresh name, then the index naming them,
 * each through a temp file renamed into place, so a reader never sees half of either. Tables of
 * earlier saves are removed after; a reader still holding an older index reads from the libraries.
 */
export function saveIndex(index: HostIndex, file = defaultIndexFile()): void {
  const tables = scannedTables.get(index);
  if (tables) {
    const name = `${posix.basename(file)}.${randomBytes(6).toString('hex')}.symbols`;
    const toc: Record<string, [number, number, number]> = {};
    let at = 0;
    for (const [key, t] of tables) {
      toc[key] = [at, t.table.length, t.unversioned ? 1 : 0];
      at += t.table.length;
    }
    const buf = Buffer.alloc(at * 4);
    for (const [key, t] of tables) Buffer.from(t.table.buffer, t.table.byteOffset, t.table.byteLength).copy(buf, toc[key]![0] * 4);
    const path = posix.join(posix.dirname(posix.resolve(file)), name);
    writeFileAtomic(path, buf);
    index.symbols = { file: path, toc };
  }
  writeFileAtomic(file, JSON.stringify(index));
  if (index.symbols) removeStaleTables(file, posix.basename(index.symbols.file));
}

function removeStaleTables(file: string, keep: string): void {
  const dir = posix.dirname(file);
  const prefix = `${posix.basename(file)}.`;
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) if (n !== keep && n.startsWith(prefix) && n.endsWith('.symbols')) rmSync(posix.join(dir, n), { force: true });
}

const loadedTables = new WeakMap<HostIndex, Map<string, DefinedSymbols | null>>();
const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The defined symbols of the indexed object `key`, read from the index's table file on first use
 * (one read per library), or from the library itself when the file is gone. Null: not an object.
 */
export function definedSymbols(index: HostIndex, key: string): DefinedSymbols | null {
  const scanned = scannedTables.get(index)?.get(key);
  if (scanned) return scanned;
  let cache = loadedTables.get(index);
  if (!cache) loadedTables.set(index, (cache = new Map()));
  let t = cache.get(key);
  if (t === undefined) {
    t = readTable(index, key) ?? symbolsFromDisk(key);
    cache.set(key, t);
  }
  return t;
}

function readTable(index: HostIndex, key: string): DefinedSymbols | null {
  const at = index.symbols?.toc[key];
  if (!index.symbols || !at) return null;
  let fd: number;
  try {
    fd = openSync(index.symbols.file, 'r');
  } catch {
    return null;
  }
  try {
    // Read straight into the table's memory (the file is little-endian, as the machines this runs on):
    // a check reads libc's thousands of entries, and a loop over them is most of a cold read's cost.
    const table = new Uint32Array(at[1]);
    const bytes = new Uint8Array(table.buffer);
    if (readSync(fd, bytes, 0, bytes.length, at[0] * 4) !== bytes.length) return null;
    if (!LITTLE_ENDIAN) {
      const le = Buffer.from(bytes.buffer);
      for (let i = 0; i < table.length; i++) table[i] = le.readUInt32LE(i * 4);
    }
    return { table, unversioned: at[2] === 1 };
  } finally {
    closeSync(fd);
  }
}

/** A library outside the index (or whose tables are gone): read its symbols where it lies. */
export function symbolsFromDisk(path: string): DefinedSymbols | null {
  try {
    const s = readElf(path, { symbols: 'defs' }).symbols;
    return s ? { table: s.defs, unversioned: !s.hasVersym } : null;
  } catch {
    return null;
  }
}

/** The index's copy of ld.so.cache, back in the reader's shape. */
function cacheOf(index: HostIndex): LdCache {
  return { entries: index.cacheEntries.map((e) => ({ ...e, hwcap: e.plain ? 0n : HWCAP_EXTENSION })) };
}

/** Is `index` still what a scan would produce now? Costs one stat per indexed directory. */
export function isFresh(index: HostIndex, opts: ScanOptions = {}): boolean {
  const extra = opts.extraDirs ?? [];
  if (index.version !== INDEX_VERSION || index.extraDirs.join(':') !== extra.join(':')) return false;
  if (opts.cachePath !== undefined && opts.cachePath !== index.cachePath) return false;
  if (index.root !== normalRoot(opts.root)) return false;
  const platform = loaderPlatform(index.machine, index.class, index.root ?? '/', { hwcaps: index.hwcaps });
  return fingerprintOf(index.cachePath, dirsToIndex(platform, cacheOf(index), extra), extra, index.root) === index.fingerprint;
}

export interface LoadedIndex {
  index: HostIndex;
  /** 'loaded' from disk, or 'scanned' because none was there or it was stale. */
  how: 'loaded' | 'scanned';
}

/** The persisted index when it is fresh, otherwise a new scan (saved for next time). */
export function loadOrScan(opts: ScanOptions = {}): LoadedIndex {
  const file = opts.indexFile ?? defaultIndexFile(normalRoot(opts.root));
  try {
    const index = JSON.parse(readFileSync(file, 'utf8')) as HostIndex;
    if (isFresh(index, opts)) return { index, how: 'loaded' };
  } catch {
    /* absent or unreadable: rebuild */
  }
  const index = scanHost(opts);
  try {
    saveIndex(index, file);
  } catch {
    /* a read-only cache dir still lets the check run */
  }
  return { index, how: 'scanned' };
}

/** What a check derives from an index, computed once per index however many checks use it. */
interface Derived {
  lists: Map<string, ReadonlySet<string>>;
  scanned: Set<string>;
  lookups: Map<string, Map<string, string>>;
}
const derivedOf = new WeakMap<HostIndex, Derived>();

function derived(index: HostIndex): Derived {
  let d = derivedOf.get(index);
  if (!d) {
    const platform = loaderPlatform(index.machine, index.class, index.root ?? '/', { hwcaps: index.hwcaps });
    const scanned = new Set(dirsToIndex(platform, cacheOf(index), index.extraDirs));
    d = { lists: new Map(), scanned, lookups: new Map() };
    derivedOf.set(index, d);
  }
  return d;
}

/** A root that holds nothing: a container's view of the node finds no file of the node's. */
const NOTHING = '/nonexistent/compat-container-view';
const containerViews = new WeakMap<HostIndex, HostIndex>();

/**
 * The node as a container sees it: its CPU (machine, class, hwcaps, ISA level) but none of its
 * files. An image's applications resolve inside the image alone; what a container takes from the
 * host (bound libraries) is bind-check's question.
 */
export function containerView(index: HostIndex): HostIndex {
  let v = containerViews.get(index);
  if (!v) {
    v = { ...index, fingerprint: `${index.fingerprint}:container`, cachePath: `${NOTHING}/etc/ld.so.cache`, cacheEntries: [], dirs: {}, objects: {}, extraDirs: [], ldSoConf: [], root: NOTHING };
    delete v.symbols;
    containerViews.set(index, v);
  }
  return v;
}

/** The host index as a loader object source; directories it never indexed are read from disk. */
export class IndexSource implements ObjectSource {
  private readonly disk: DiskSource;
  private readonly derived: Derived;
  constructor(private readonly index: HostIndex) {
    this.derived = derived(index);
    this.disk = new DiskSource(index.root ?? '/');
  }

  list(raw: string): ReadonlySet<string> | undefined {
    const dir = normalPath(raw);
    const entries = this.index.dirs[dir];
    // A directory the scan looked for and did not find stays missing without touching the disk.
    if (!entries) return this.derived.scanned.has(dir) ? undefined : this.disk.list(dir);
    let s = this.derived.lists.get(dir);
    if (!s) {
      s = new Set(Object.keys(entries));
      this.derived.lists.set(dir, s);
    }
    return s;
  }

  open(raw: string): OpenResult {
    const path = normalPath(raw);
    const dir = posix.dirname(path);
    const entries = this.index.dirs[dir];
    if (entries) {
      const key = entries[posix.basename(path)];
      if (key === undefined) return { ok: false, missing: true };
      if (key !== null) return { ok: true, facts: this.index.objects[key]! };
    }
    return this.disk.open(path);
  }

  /** The defined symbols of the object at `raw` (indexed, or else read from the file). */
  symbolsAt(raw: string): DefinedSymbols | null {
    const path = normalPath(raw);
    const key = this.index.dirs[posix.dirname(path)]?.[posix.basename(path)];
    return definedSymbols(this.index, key ?? this.disk.hostPath(path));
  }

  /** `hwcaps`: the active glibc-hwcaps levels when a tunable masks some of the index's. */
  cacheLookup(machine: number, cls: 32 | 64, hwcaps: string[] = this.index.hwcaps): Map<string, string> {
    const key = `${machine}/${cls}/${hwcaps.join(',')}`;
    let table = this.derived.lookups.get(key);
    if (!table) {
      table = cacheLookupTable(cacheOf(this.index), cacheFlagsFor(machine, cls), hwcaps);
      this.derived.lookups.set(key, table);
    }
    return table;
  }
}
