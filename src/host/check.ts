import { posix } from 'node:path';
import { type AppBinary, type AppSymbols, factsOfApp } from './app.js';
import { machineName, machineNumber, type SymbolKind } from './elf.js';
import { isRegularFile } from './file-reader.js';
import { type HostIndex, IndexSource, inRoot } from './host-index.js';
import { highestVersion } from './versions.js';
import { hostX86IsaLevel, x86IsaNames, x86IsaRefused } from './isa.js';
import { addToListing, type ObjectFacts, type ObjectSource, type OpenResult } from './object-source.js';
import { readPreloadFile } from './loader.js';
import { loaderPlatform, type LoaderPlatform } from './platform.js';
import { resolveGraph, type Resolution, versionProblems } from './resolve.js';
import { envProgram, findOnPath } from './script.js';
import { tableFromBase64 } from './symbol-table.js';
import { bindSymbols, type ObjectSymbols, parseRefList, type Ref, type SymbolProblem } from './symbols.js';
import { normalPath } from './paths.js';

export type ReasonKind = 'missing-library' | 'wrong-architecture' | 'missing-version' | 'missing-symbol' | 'missing-interpreter' | 'isa-level' | 'loader-error';

/**
 * What kind of problem a reason is, for a scheduler to act on: a soname missing, a symbol version
 * or a symbol missing, only candidates of another machine or class, an x86 ISA level above the
 * CPU's, a missing program or script interpreter, a candidate that stops the load, or a verdict
 * that depends on where or with what preloads the program runs.
 */
export type ReasonClass = 'soname' | 'version' | 'symbol' | 'machine' | 'isa' | 'interpreter' | 'loader-error' | 'environment';

/** The class a reason of each kind has unless its finder says otherwise (`environment`). */
export const CLASS_OF_KIND: Readonly<Record<ReasonKind, ReasonClass>> = {
  'missing-library': 'soname',
  'wrong-architecture': 'machine',
  'missing-version': 'version',
  'missing-symbol': 'symbol',
  'missing-interpreter': 'interpreter',
  'isa-level': 'isa',
  'loader-error': 'loader-error',
};

export interface Reason {
  /** The finer name of the problem (kept for readers of the first reports). */
  kind: ReasonKind;
  class: ReasonClass;
  /** The application binary (path inside the application) the problem stops. */
  binary: string;
  soname?: string;
  version?: string;
  message: string;
  /** For `missing-symbol`: the symbol, and the object (path) whose reference fails. */
  symbol?: string;
  object?: string;
  /** For `missing-symbol`: a function under lazy binding, so the program starts and dies at its first call. */
  lazy?: boolean;
}

export interface ResolvedLibrary {
  soname: string;
  path: string | null;
  /** Where it comes from: the application's own tree, or the node. */
  from: 'application' | 'host' | 'none';
}

/** Something the verdict depends on besides the node's libraries; it does not change `compatible`. */
export interface Note {
  class: 'environment';
  binary: string;
  message: string;
}

export interface CheckReport {
  compatible: boolean;
  reasons: Reason[];
  /** The working directory or preloads the verdict depends on (absent when there are none). */
  notes?: Note[];
  /**
   * What does not stop the application as it runs: a need of a library checked on its own that
   * the tree itself holds, found only through the search path of that library's real loader.
   */
  warnings: Reason[];
  /**
   * Each binary checked: an `entry-point` (an executable, a script) with what it loads, or a
   * `library` that no entry point of the application loads (a plugin), checked on its own.
   */
  binaries: Array<{ path: string; role: 'entry-point' | 'library'; compatible: boolean; libraries: ResolvedLibrary[] }>;
  /** The application's own libraries that its entry points load. */
  reached: string[];
  host: { machine: string; class: 32 | 64; glibc?: string; fingerprint: string };
}

export interface CheckInput {
  kind: 'binary' | 'directory' | 'rootfs';
  binaries: AppBinary[];
}

export interface CheckOptions {
  /** LD_LIBRARY_PATH entries as the application will run with them. */
  ldLibraryPath?: string[];
  /** LD_PRELOAD entries as the application will run with them. */
  preload?: string[];
  /** The node's preload file; default `/etc/ld.so.preload`, null for none. */
  preloadFile?: string | null;
  /** The directory the application will run in (default: this process's). */
  cwd?: string;
  /** GLIBC_TUNABLES as the application will run with it (`glibc.cpu.hwcaps` masks glibc-hwcaps levels). */
  tunables?: string;
  /** PATH as the application's scripts will run with it (`#!/usr/bin/env prog`); defaults to check's own. */
  path?: string;
  /**
   * The directories the loader searches after RUNPATH, in place of the node's cache and default
   * directories: an image's own (its ld.so.conf directories, then its loader's defaults).
   */
  searchDirs?: string[];
}

const APP_MOUNT = '/.compat-app';

/** The application's own files laid over the node's: where the app has a file, the app's wins. */
class AppOverlay implements ObjectSource {
  private readonly files = new Map<string, ObjectFacts>();
  private readonly dirs = new Map<string, Set<string>>();
  private readonly merged = new Map<string, ReadonlySet<string> | undefined>();
  private readonly factsByBinary = new Map<AppBinary, ObjectFacts>();

  constructor(
    readonly mount: string,
    binaries: AppBinary[],
    private readonly host: ObjectSource,
  ) {
    for (const b of binaries) {
      const facts = factsOfApp(b);
      this.factsByBinary.set(b, facts);
      for (const rel of [b.path, ...(b.aliases ?? [])]) this.addFile(this.place(rel), facts);
    }
  }

  /** The loader's view of one of the application's binaries (computed once, in the constructor). */
  factsOf(b: AppBinary): ObjectFacts {
    return this.factsByBinary.get(b)!;
  }

  /** The spec entry an object the resolver loaded from the application came from. */
  binaryOf(facts: ObjectFacts): AppBinary | undefined {
    if (!this.binaryByFacts) {
      this.binaryByFacts = new Map();
      for (const [b, f] of this.factsByBinary) this.binaryByFacts.set(f, b);
    }
    return this.binaryByFacts.get(facts);
  }
  private binaryByFacts?: Map<ObjectFacts, AppBinary>;

  private addFile(p: string, facts: ObjectFacts): void {
    this.files.set(p, facts);
    addToListing(this.dirs, p, this.mount);
  }

  place(p: string): string {
    return posix.join(this.mount || '/', p);
  }

  show(raw: string): string {
    const p = normalPath(raw);
    return this.mount && p.startsWith(`${this.mount}/`) ? p.slice(this.mount.length + 1) : p;
  }

  isApp(p: string): boolean {
    return this.files.has(normalPath(p));
  }

  list(raw: string): ReadonlySet<string> | undefined {
    // The kernel resolves '..' in what the loader opens; the overlay's keys are normalized.
    const dir = normalPath(raw);
    if (this.merged.has(dir)) return this.merged.get(dir);
    const mine = this.dirs.get(dir);
    const theirs = dir === this.mount || dir.startsWith(`${this.mount}/`) ? undefined : this.host.list(dir);
    const out = mine && theirs ? new Set([...mine, ...theirs]) : (mine ?? theirs);
    this.merged.set(dir, out);
    return out;
  }

  open(raw: string): OpenResult {
    const path = normalPath(raw);
    const f = this.files.get(path);
    if (f) return { ok: true, facts: f };
    if (this.mount && (path === this.mount || path.startsWith(`${this.mount}/`))) return { ok: false, missing: true };
    return this.host.open(path);
  }
}

/**
 * Would each binary of the application load on this node? Runs the loader's own search over the
 * application's files laid on the node's index, then the loader's version check.
 */
export function checkApp(app: CheckInput, index: HostIndex, opts: CheckOptions = {}): CheckReport {
  const host = new IndexSource(index);
  const overlay = new AppOverlay(app.kind === 'rootfs' ? '' : APP_MOUNT, app.binaries, host);
  const reasons: Reason[] = [];
  const seen = new Set<string>();
  const add = (found: Omit<Reason, 'class'> & { class?: ReasonClass }) => {
    const r: Reason = { ...found, class: found.class ?? CLASS_OF_KIND[found.kind] };
    const key = `${r.kind}\0${r.binary}\0${r.soname ?? ''}\0${r.version ?? ''}\0${r.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      reasons.push(r);
    }
  };
  const hostMachine = machineName(index.machine);
  const warnings: Reason[] = [];
  const report: CheckReport = {
    compatible: true,
    reasons,
    warnings,
    binaries: [],
    reached: [],
    host: { machine: hostMachine, class: index.class, fingerprint: index.fingerprint, ...(index.glibc ? { glibc: index.glibc } : {}) },
  };
  const isaLevel = index.x86IsaLevel ?? (index.machine === 62 || index.machine === 3 ? hostX86IsaLevel() : undefined);
  let loaders = loadersOf.get(index);
  if (!loaders) loadersOf.set(index, (loaders = new Map()));
  const reached = new Set<string>();
  const cwd = opts.cwd ?? process.cwd();
  // A root checked as the node: its own preload file, loader directories and script interpreters.
  const root = index.root;
  const preloadFile = opts.preloadFile === undefined ? inRoot(root, '/etc/ld.so.preload') : opts.preloadFile;
  const preload = [...(opts.preload ?? []).map((name) => ({ name, from: 'LD_PRELOAD' })), ...readPreloadFile(preloadFile).map((name) => ({ name, from: preloadFile! }))];
  const notes: Note[] = [];
  const noteSeen = new Set<string>();
  const note = (binary: string, message: string) => {
    if (noteSeen.has(message)) return;
    noteSeen.add(message);
    notes.push({ class: 'environment', binary, message });
  };

  const hostRuns = new Map<string, Resolution>();
  // The loader's configuration comes from the interpreter the binary names (its own $LIB, default dirs).
  const loaderFor = (machine: number, cls: 32 | 64, interpreter?: string) => {
    const key = `${machine}/${cls}/${interpreter ?? ''}/${opts.tunables ?? ''}`;
    let loader = loaders.get(key);
    if (!loader) {
      if (loaders.size >= LOADERS_MAX) loaders.clear();
      const hwcaps = machine === index.machine && cls === index.class ? index.hwcaps : [];
      const found = loaderPlatform(machine, cls, root ?? '/', { hwcaps, ...(interpreter ? { interpreter } : {}), tunables: opts.tunables });
      const platform = opts.searchDirs?.length ? { ...found, defaultDirs: opts.searchDirs } : found;
      loaders.set(key, (loader = { platform, lookup: host.cacheLookup(machine, cls, platform.hwcaps) }));
    }
    return loader;
  };
  const resolve = (path: string, facts: ObjectFacts, interpreter = facts.interpreter): Resolution => {
    const { platform, lookup } = loaderFor(facts.machine, facts.class, interpreter);
    return resolveGraph(path, facts, { source: overlay, platform, cacheLookup: (s) => lookup.get(s), ldLibraryPath: opts.ldLibraryPath, preload, cwd });
  };

  const run = (b: AppBinary) => {
    const before = reasons.length;
    const libraries: ResolvedLibrary[] = [];
    const path = overlay.place(b.path);
    const machine = machineNumber(b.machine) ?? -1;
    const foreign = machine !== index.machine || b.class !== index.class;
    if (b.linkage === 'script') {
      checkScript(b, libraries);
    } else if (b.linkage === 'static') {
      if (foreign) add({ kind: 'wrong-architecture', binary: b.path, message: `${b.path}: built for ${b.machine} (${b.class}-bit), this node runs ${hostMachine} (${index.class}-bit)` });
    } else {
      const res = resolve(path, overlay.factsOf(b), b.interpreter);
      if (res.interpreterProblem && b.type === 'executable') {
        if (foreign) add({ kind: 'wrong-architecture', binary: b.path, message: `${b.path}: built for ${b.machine} (${b.class}-bit), this node runs ${hostMachine} (${index.class}-bit) and has no ${b.machine} loader` });
        add({ kind: 'missing-interpreter', binary: b.path, message: `${b.path}: program interpreter ${res.interpreterProblem.replace(/^\S+ /, `${b.interpreter ?? ''} `)}` });
      }
      collect(b, res, libraries);
      // The loader relocates only once every object has loaded and every version was found; a need
      // left to the library's own loader (a tree warning) leaves the scope this check sees incomplete.
      if (reasons.length === before && res.missing.length === 0) bind(b, res);
    }
    report.binaries.push({ path: b.path, role: b.type === 'executable' ? 'entry-point' : 'library', compatible: reasons.length === before, libraries });
  };

  /**
   * A script runs only if the kernel finds its `#!` interpreter (fs/binfmt_script.c) and that
   * interpreter, an ELF program of the node, loads; `#!/usr/bin/env prog` also needs `prog` on
   * `PATH` (check's own, or `opts.path`), and `prog` must load too.
   */
  const checkScript = (b: AppBinary, libraries: ResolvedLibrary[]) => {
    const interp = b.interpreter;
    if (!interp || overlay.isApp(overlay.place(interp))) return;
    if (!isRegularFile(inRoot(root, interp))) {
      // The kernel opens a relative interpreter from the working directory: the verdict depends on it.
      const relative = !interp.startsWith('/');
      add({ kind: 'missing-interpreter', ...(relative ? { class: 'environment' as const } : {}), binary: b.path, message: `${b.path}: script interpreter ${interp} not found on this node${relative ? ' (a relative #! interpreter is opened from the working directory)' : ''}` });
      return;
    }
    checkHostProgram(b, interp, libraries);
    if (posix.basename(interp) !== 'env') return;
    const prog = envProgram(b.interpreterArgument);
    if (prog === undefined) return;
    const found = findOnPath(prog, opts.path ?? process.env.PATH, process.cwd(), (p) => inRoot(root, p));
    if (found === undefined) add({ kind: 'missing-interpreter', binary: b.path, message: `${b.path}: ${prog} (run by #!${interp}) not found on PATH` });
    else checkHostProgram(b, found, libraries);
  };

  /** A program of the node that a script runs, checked like any binary: its own libraries must load. */
  const checkHostProgram = (b: AppBinary, prog: string, libraries: ResolvedLibrary[]) => {
    const r = host.open(prog);
    // Not an ELF object (an interpreter that is itself a script): the kernel decides at run time.
    if (!r.ok || (r.facts.type !== 'exec' && r.facts.type !== 'dyn')) return;
    const f = r.facts;
    const foreign = f.machine !== index.machine || f.class !== index.class;
    if (!f.dynamic) {
      if (foreign) add({ kind: 'wrong-architecture', binary: b.path, message: `${b.path}: ${prog} is built for ${machineName(f.machine)} (${f.class}-bit), this node runs ${hostMachine} (${index.class}-bit)` });
      return;
    }
    let res = hostRuns.get(prog);
    if (!res) hostRuns.set(prog, (res = resolve(prog, f)));
    if (res.interpreterProblem) add({ kind: 'missing-interpreter', binary: b.path, message: `${b.path}: ${prog}: program interpreter ${res.interpreterProblem}` });
    collect(b, res, libraries);
  };

  /** What the verdict depends on besides the node: the working directory, preloads the loader ignores. */
  const environment = (b: AppBinary, res: Resolution) => {
    const groups = new Map<string, { by: string; source: string; names: string[] }>();
    for (const u of res.cwdUses) {
      const by = overlay.show(res.objects[u.object]!.path);
      const key = `${by}\0${u.source}`;
      const g = groups.get(key) ?? { by, source: u.source, names: [] };
      if (!g.names.includes(u.name)) g.names.push(u.name);
      groups.set(key, g);
    }
    for (const g of groups.values()) {
      const what = g.source === 'path' ? 'a relative library path' : `a relative or empty ${g.source} entry`;
      const whose = g.by === b.path ? '' : ` of ${g.by}`;
      note(b.path, `${b.path}: ${what}${whose} is searched for ${g.names.join(', ')}: the verdict depends on the working directory (${cwd}; --cwd sets it)`);
    }
    for (const p of res.ignoredPreloads) note(b.path, `${b.path}: ${p.name} from ${p.from} cannot be preloaded (${p.message}): the loader ignores it`);
  };

  const collect = (b: AppBinary, res: Resolution, libraries: ResolvedLibrary[]) => {
    environment(b, res);
    res.objects.forEach((o, i) => {
      if (i === 0 || o.via === 'interpreter') return;
      reached.add(normalPath(o.path));
      libraries.push({ soname: o.name, path: overlay.show(o.path), from: overlay.isApp(o.path) ? 'application' : 'host' });
    });
    for (const m of res.missing) {
      libraries.push({ soname: m.name, path: null, from: 'none' });
      const by = overlay.show(res.objects[m.requestedBy]!.path);
      const via = by === b.path ? '' : ` (needed by ${by})`;
      const inTree = b.type === 'executable' || m.error || m.wrongClass.length ? undefined : treeFile(m.name);
      if (inTree !== undefined) {
        warnings.push({ kind: 'missing-library', class: 'soname', binary: b.path, soname: m.name, message: `${b.path}: ${m.name}${via} found in the tree only through its loader's search path (${inTree})` });
      } else if (m.error) add({ kind: 'loader-error', binary: b.path, soname: m.name, message: `${b.path}: ${m.name}${via}: ${m.error}` });
      else if (m.wrongClass.length) {
        const what = m.wrongClass.map((p) => overlay.show(p)).join(', ');
        add({ kind: 'wrong-architecture', binary: b.path, soname: m.name, message: `${b.path}: ${m.name}${via} found only for another machine or class: ${what}` });
      } else add({ kind: 'missing-library', binary: b.path, soname: m.name, message: `${b.path}: ${m.name}${via} not found` });
    }
    if (isaLevel !== undefined) isaProblems(b, res);
    for (const v of versionProblems(res)) {
      const provider = res.objects[v.provider]!;
      const by = overlay.show(res.objects[v.object]!.path);
      const prefix = /^(.*?_)[\d.]+$/.exec(v.version)?.[1];
      const top = prefix ? highestVersion(provider.facts.verdef, prefix) : undefined;
      const has = top ? `has up to ${top}` : `defines ${provider.facts.verdef.slice(0, 8).join(', ')}${provider.facts.verdef.length > 8 ? ', …' : ''}`;
      add({ kind: 'missing-version', binary: b.path, soname: v.file, version: v.version, message: `${b.path}: ${v.version} needed${by === b.path ? '' : ` by ${by}`} from ${v.file}, ${overlay.show(provider.path)} ${has}` });
    }
  };

  /** After mapping, the loader refuses every object whose ISA needs the CPU lacks (`dl_isa_level_check`); ld.so itself is skipped. */
  const isaProblems = (b: AppBinary, res: Resolution) => {
    res.objects.forEach((o, i) => {
      if (o.via === 'interpreter' || !x86IsaRefused(o.facts.x86IsaNeeded, isaLevel!)) return;
      const shown = overlay.show(o.path);
      const own = shown === b.path;
      const who = own ? b.path : `${b.path}: ${shown}`;
      const has = x86IsaNames(isaLevel!).at(-1);
      add({ kind: 'isa-level', binary: b.path, ...(i === 0 ? {} : { soname: o.name }), message: `${who}: CPU ISA level is lower than required (needs ${x86IsaNames(o.facts.x86IsaNeeded!).join(', ')}; this CPU has ${has ? `up to ${has}` : 'no x86-64 level'})` });
    });
  };

  /**
   * A library no entry point loads runs only under a loader of its own (a program outside the
   * tree, a plugin host) whose search path this check cannot see: a need it has that the tree
   * holds is found through that path (as systemd's RUNPATH finds libsystemd-shared beside
   * libsystemd-core), so it is a warning; a need found nowhere stays a failure.
   */
  let treeNames: Map<string, string> | undefined;
  const treeFile = (name: string): string | undefined => {
    if (!treeNames) {
      treeNames = new Map();
      for (const t of app.binaries) {
        if (t.linkage === 'script') continue;
        for (const n of [t.soname, ...[t.path, ...(t.aliases ?? [])].map((p) => posix.basename(p))]) if (n && !treeNames.has(n)) treeNames.set(n, t.path);
      }
    }
    return treeNames.get(name);
  };

  const appSymbols = new Map<AppBinary, ObjectSymbols>();
  // A node library's symbols do not change while its index stands: kept with the index, across checks.
  let hostSymbols = hostSymbolsOf.get(index);
  if (!hostSymbols) hostSymbolsOf.set(index, (hostSymbols = new Map()));
  const symbolsOf = (res: Resolution) => (i: number): ObjectSymbols => {
    const o = res.objects[i]!;
    const ab = overlay.isApp(o.path) ? overlay.binaryOf(o.facts) : undefined;
    if (ab) {
      let s = appSymbols.get(ab);
      if (!s) appSymbols.set(ab, (s = objectSymbolsOfApp(ab.symbols)));
      return s;
    }
    let s = hostSymbols.get(o.path);
    if (!s) {
      const defs = host.symbolsAt(o.path);
      hostSymbols.set(o.path, (s = { bindNow: false, ...(defs ? { defs } : {}) }));
    }
    return s;
  };
  const bind = (b: AppBinary, res: Resolution) => {
    const problems = bindSymbols(res, symbolsOf(res));
    if (b.type !== 'executable') return leftToLoader(b, problems.filter((p) => p.cause !== 'no-version-information'), res);
    for (const p of problems) add(symbolReason(b, p, overlay.show(res.objects[p.object]!.path), p.provider === undefined ? undefined : overlay.show(res.objects[p.provider]!.path)));
  };

  /**
   * A library checked on its own binds in the scope of whatever program loads it (the plugin host
   * defines what its plugins call), which this check cannot see: what it leaves undefined is one
   * warning per object, as `ldd -r` lists it, not a failure.
   */
  const leftToLoader = (b: AppBinary, problems: SymbolProblem[], res: Resolution) => {
    const byObject = new Map<number, string[]>();
    for (const p of problems) byObject.set(p.object, [...(byObject.get(p.object) ?? []), `${p.symbol}${p.version ? `@${p.version}` : ''}`]);
    for (const [object, names] of byObject) {
      const shown = overlay.show(res.objects[object]!.path);
      const list = `${names.slice(0, 5).join(', ')}${names.length > 5 ? `, … (${names.length} in all)` : ''}`;
      warnings.push({ kind: 'missing-symbol', class: 'symbol', binary: b.path, object: shown, message: `${b.path}: ${shown === b.path ? '' : `${shown}: `}undefined symbols left to the program that loads it: ${list}` });
    }
  };

  const roots = app.binaries.filter((b) => b.type === 'executable');
  for (const b of roots) run(b);
  report.reached = app.binaries.filter((b) => b.type !== 'executable' && reached.has(overlay.place(b.path))).map((b) => b.path);
  // Libraries no executable loads (plugins, or a spec of a library alone) are checked on their own.
  // A library reached under any of its names (a link) was loaded: it is one file.
  const reachedUnderAnyName = (b: AppBinary) => [b.path, ...(b.aliases ?? [])].some((p) => reached.has(overlay.place(p)));
  for (const b of app.binaries) if (b.type !== 'executable' && !reachedUnderAnyName(b)) run(b);
  report.compatible = reasons.length === 0;
  if (notes.length) report.notes = notes;
  return report;
}

const hostSymbolsOf = new WeakMap<HostIndex, Map<string, ObjectSymbols>>();

/**
 * Each loader's configuration by machine, class, interpreter and tunables, kept with the index
 * across checks (its hwcaps and root are the index's): working it out again cost every check of a
 * daemon more than the search it serves. Bounded, as interpreters come from the specs.
 */
const loadersOf = new WeakMap<HostIndex, Map<string, { platform: LoaderPlatform; lookup: Map<string, string> }>>();
const LOADERS_MAX = 64;

/**
 * Parsed reference lists by their text, across checks: a daemon sees the same binary in spec after
 * spec, and looking a list up costs a fraction of hashing each reference again. Emptied when full.
 */
const parsedLists = new Map<string, Ref[]>();
const PARSED_LISTS_MAX = 4096;
const NO_REFS: Ref[] = [];

function parsedList(text: string | undefined, kind: SymbolKind): Ref[] {
  if (!text) return NO_REFS;
  // The kind is part of the key: one text could be a function list in one spec and data in another.
  const key = kind === 'func' ? text : `${kind}\0${text}`;
  let refs = parsedLists.get(key);
  if (!refs) {
    if (parsedLists.size >= PARSED_LISTS_MAX) parsedLists.clear();
    parseRefList(text, kind, (refs = []));
    parsedLists.set(key, refs);
  }
  return refs;
}

/** A spec's symbols as the binding wants them; a spec written before symbols were recorded binds nothing. */
export function objectSymbolsOfApp(s: AppSymbols | undefined): ObjectSymbols {
  if (!s) return { bindNow: false };
  const functions = parsedList(s.functions, 'func');
  const data = parsedList(s.data, 'data');
  const tls = parsedList(s.tls, 'tls');
  const refs = data.length === 0 && tls.length === 0 ? functions : [...functions, ...data, ...tls];
  return { refs, bindNow: s.bindNow === true, defs: { table: s.defs ? tableFromBase64(s.defs) : EMPTY_TABLE, unversioned: s.unversioned === true } };
}

const EMPTY_TABLE = new Uint32Array(0);

/** One line, in the loader's own words ("undefined symbol: f, version FOO_1.0"), naming who needs it. */
function symbolReason(b: AppBinary, p: SymbolProblem, object: string, provider: string | undefined): Reason {
  const what = `${p.symbol}${p.version ? `, version ${p.version}` : ''}`;
  const by = object === b.path ? '' : ` (needed by ${object})`;
  const when = p.lazy ? '; the program starts and stops at its first call (lazy binding)' : '';
  const message =
    p.cause === 'no-version-information'
      ? `${b.path}: ${what}${by}: ${provider} defines no symbol versions ("no version information available"); the loader stops when it binds the symbol${when}`
      : `${b.path}: undefined symbol: ${what}${by}${when}`;
  return { kind: 'missing-symbol', class: 'symbol', binary: b.path, symbol: p.symbol, ...(p.version ? { version: p.version } : {}), object, ...(p.lazy ? { lazy: true } : {}), message };
}

