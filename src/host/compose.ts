import { posix } from 'node:path';
import { type AppBinary, factsOfApp } from './app.js';
import { objectSymbolsOfApp } from './check.js';
import { machineName, type SymbolKind } from './elf.js';
import { FormatError } from './file-reader.js';
import { hostPlatform } from './host-index.js';
import { compareDotted, highestVersion } from './versions.js';
import { cacheFlagsFor, cacheLookupTable, type LdCache, readLdCache } from './ldcache.js';
import { addToListing, DiskSource, type ObjectFacts, type ObjectSource, type OpenResult } from './object-source.js';
import { loaderPlatform, type LoaderPlatform } from './platform.js';
import { resolveGraph, type Resolution, versionProblems } from './resolve.js';
import { bindSymbols, checkMatch, makeRef, type ObjectSymbols } from './symbols.js';
import { readObjectSymbols } from './undefined-symbols.js';

/** One application to compose: its binaries as its spec lists them, paths relative to its tree. */
export interface ComposeApp {
  name: string;
  /** The argument it was given as. */
  source: string;
  binaries: AppBinary[];
  /** The host directory its paths are relative to, when it was described from files here. */
  hostBase?: string;
}

export interface ComposeOptions {
  apps: ComposeApp[];
  /** The base's root file system, unpacked; without it the apps are checked against each other only. */
  base?: string;
  /** How the report names the base (an image reference); default: `base`. */
  baseName?: string;
}

export type ComposeReasonClass = 'interpreter' | 'soname' | 'version' | 'symbol' | 'machine' | 'loader-error';

export interface ComposeReason {
  class: ComposeReasonClass;
  /** The applications it stops (or, for a shared soname, all that would load it). */
  apps: string[];
  soname?: string;
  version?: string;
  symbol?: string;
  /** The files in conflict (host paths when known, else APP:PATH). */
  files?: string[];
  /** A shortfall of the base (--into), not of the applications against each other. */
  base?: true;
  message: string;
}

export interface ComposeReport {
  compatible: boolean;
  /** The one program interpreter of every entry point (absent when they disagree). */
  interpreter?: string;
  base?: { root: string; glibc?: string };
  apps: Array<{ name: string; source: string; prefix: string; compatible: boolean; entryPoints: string[]; loads: Array<{ soname: string; path: string; from: string }> }>;
  /** Each soname more than one application loads: the file(s) each loads; `keptApart` when they load different ones. */
  shared: Array<{ soname: string; apps: string[]; files: Array<{ path: string; from: string; apps: string[] }>; keptApart: boolean; conflict: boolean }>;
  /** The merged set: every file of every application and where it goes in the container. */
  files: Array<{ app: string; path: string; host?: string; target: string }>;
  /** The highest version of each versioned library the applications take from the base. */
  needs: Array<{ soname: string; version: string; apps: string[] }>;
  reasons: ComposeReason[];
  warnings: ComposeReason[];
}

/** A binary of an application at its place in the container. */
interface Placed {
  app: number;
  binary: AppBinary;
  facts: ObjectFacts;
  target: string;
  /** The file's identity: a tree file under its aliases is one file; a copy on the search path is another. */
  id: string;
  /** A copy put on the shared search path (not the app's own tree). */
  shared?: boolean;
}

type Layout = Map<string, Placed>;

/** What one loader configuration sees: its platform, the base (or a stand-in for it), the base's cache. */
interface Env {
  platform: LoaderPlatform;
  base: ObjectSource;
  standIn: boolean;
  cacheLookup: (soname: string) => string | undefined;
}

interface Problem {
  class: ComposeReasonClass;
  soname?: string;
  version?: string;
  symbol?: string;
  kind?: SymbolKind;
  /** Index of the object whose need fails, and of the object asked (versions). */
  object: number;
  provider?: number;
  message: string;
}

interface Run {
  app: number;
  entry: Placed;
  res: Resolution;
  problems: Problem[];
}

/** Rounds of putting libraries on the shared path (each adds at least one soname), at most. */
const MAX_ROUNDS = 16;

/** A directory listing in which every name is present: the stand-in base answers for any library. */
const EVERY_NAME: ReadonlySet<string> = new (class extends Set<string> {
  override has(): boolean {
    return true;
  }
})();

const DEFINES_NOTHING: ObjectSymbols = { bindNow: false, defs: { table: new Uint32Array(0), unversioned: false } };

/**
 * Without a base, whatever no application brings is left to it: every name in its default
 * directories opens as an object that defines no versions (so any version passes, as glibc lets
 * an unversioned provider) and no symbols (so a symbol is missing only if no application's
 * library that the loader reached defines it; see `keepWithoutBase`).
 */
class StandInBase implements ObjectSource {
  constructor(
    private readonly platform: LoaderPlatform,
    private readonly want: Pick<ObjectFacts, 'machine' | 'class' | 'endian'>,
    private readonly interpreter: string | undefined,
  ) {}

  list(dir: string): ReadonlySet<string> | undefined {
    return this.platform.defaultDirs.includes(dir) ? EVERY_NAME : undefined;
  }

  open(path: string): OpenResult {
    if (path !== this.interpreter && !this.platform.defaultDirs.includes(posix.dirname(path))) return { ok: false, missing: true };
    const facts: ObjectFacts = { ...this.want, osabi: 0, type: 'dyn', dynamic: true, needed: [], soname: posix.basename(path), flags1: 0, verneed: [], verdef: [] };
    return { ok: true, facts, id: `stand-in:${path}` };
  }
}

/** The applications' files laid over the base at their places, as copying them into it would. */
class ComposedSource implements ObjectSource {
  private readonly dirs = new Map<string, Set<string>>();

  constructor(
    private readonly layout: Layout,
    private readonly base: ObjectSource,
  ) {
    for (const p of layout.keys()) addToListing(this.dirs, p);
  }

  list(raw: string): ReadonlySet<string> | undefined {
    const dir = posix.normalize(raw);
    const theirs = this.base.list(dir);
    if (theirs === EVERY_NAME) return EVERY_NAME;
    const mine = this.dirs.get(dir);
    return mine && theirs ? new Set([...mine, ...theirs]) : (mine ?? theirs);
  }

  open(raw: string): OpenResult {
    const p = this.layout.get(posix.normalize(raw));
    return p ? { ok: true, facts: p.facts, id: p.id } : this.base.open(raw);
  }
}

/** `/opt/NAME`: where an application's tree goes (its $ORIGIN-relative paths keep working there). */
export function prefixOf(name: string): string {
  return `/opt/${name.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

function descriptionKey(b: AppBinary): string {
  const { path: _p, aliases: _a, bundled: _b, ...rest } = b;
  return JSON.stringify(rest);
}

/**
 * Can these applications share one container? Each application's tree goes under its own prefix
 * (so what it reaches through `$ORIGIN` stays its own); a library an application brings but
 * reaches only through the search path goes into the first default directory of the loader (or
 * replaces the base's copy the loader would find first), one file per soname: the one that every
 * application loading it is satisfied by, or a conflict naming each candidate and what each side
 * lacks. Then every entry point is resolved in the composed root as its loader will, versions and
 * symbols bound; what the base lacks is a shortfall of the base.
 */
export function composeApps(opts: ComposeOptions): ComposeReport {
  const ctx = new Composer(opts);
  return ctx.compose();
}

class Composer {
  private readonly apps: ComposeApp[];
  private readonly disk?: DiskSource;
  private readonly cache: LdCache | null = null;
  private readonly envs = new Map<string, Env>();
  private readonly appSymbols = new Map<AppBinary, ObjectSymbols>();
  private readonly diskSymbols = new Map<string, ObjectSymbols>();
  private readonly layout: Layout = new Map();
  /** Sonames put on the shared path (or decided against), with the conflict when none serves all. */
  private readonly decided = new Map<string, { placed?: Placed; replaces?: string; conflict?: ComposeReason }>();

  constructor(private readonly opts: ComposeOptions) {
    this.apps = opts.apps;
    if (opts.base) {
      this.disk = new DiskSource(opts.base);
      this.cache = readCache(this.disk);
    }
    this.apps.forEach((a, i) => {
      const prefix = prefixOf(a.name);
      for (const b of a.binaries) {
        if (b.linkage === 'script') continue;
        const facts = factsOfApp(b);
        const id = `compose:${i}:${b.path}`;
        for (const rel of [b.path, ...(b.aliases ?? [])]) this.layout.set(posix.join(prefix, rel), { app: i, binary: b, facts, target: posix.join(prefix, rel), id });
      }
    });
  }

  compose(): ComposeReport {
    this.placeShared();
    const runs = this.apps.flatMap((_, i) => this.runApp(i, this.layout));
    const reasons: ComposeReason[] = [];
    const interp = this.interpreterConflict();
    if (interp) reasons.push(interp);
    for (const d of this.decided.values()) if (d.conflict) reasons.push(d.conflict);
    reasons.push(...this.remainingProblems(runs));
    const warnings: ComposeReason[] = [];
    for (const [soname, d] of this.decided) {
      if (d.placed && d.replaces) warnings.push({ class: 'soname', apps: [this.apps[d.placed.app]!.name], soname, message: `${soname}: ${this.apps[d.placed.app]!.name}'s copy replaces the base's ${d.replaces}, which the loader finds first (its ld.so.cache): the base's own programs then load it too` });
    }
    const failing = new Set(reasons.flatMap((r) => r.apps));
    const interpreters = [...new Set(this.entries().map((e) => e.binary.interpreter).filter((x): x is string => x !== undefined))];
    return {
      compatible: reasons.length === 0,
      ...(interpreters.length === 1 ? { interpreter: interpreters[0] } : {}),
      ...(this.opts.base ? { base: { root: this.opts.baseName ?? this.opts.base, ...this.baseGlibc() } } : {}),
      apps: this.apps.map((a, i) => ({ name: a.name, source: a.source, prefix: prefixOf(a.name), compatible: !failing.has(a.name), entryPoints: this.entries(i).map((e) => e.target), loads: this.loadsOf(runs.filter((r) => r.app === i)) })),
      shared: this.sharedSonames(runs),
      files: this.mergedSet(),
      needs: this.needs(runs),
      reasons,
      warnings,
    };
  }

  /** Dynamic executables of one application (or all), at their primary place. */
  private entries(app?: number): Placed[] {
    return [...this.layout.values()].filter((p) => (app === undefined || p.app === app) && !p.shared && p.target === posix.join(prefixOf(this.apps[p.app]!.name), p.binary.path) && p.binary.type === 'executable' && p.binary.linkage === 'dynamic');
  }

  private env(entry: Placed): Env {
    const f = entry.facts;
    const key = `${f.machine}/${f.class}/${f.interpreter ?? ''}`;
    let env = this.envs.get(key);
    if (env) return env;
    const root = this.opts.base ?? '/';
    const platform = loaderPlatform(f.machine, f.class, root, { ...(f.interpreter ? { interpreter: f.interpreter } : {}) });
    if (this.disk) {
      const table = this.cache ? cacheLookupTable(this.cache, cacheFlagsFor(f.machine, f.class), platform.hwcaps) : new Map<string, string>();
      env = { platform, base: this.disk, standIn: false, cacheLookup: (s) => table.get(s) };
    } else env = { platform, base: new StandInBase(platform, f, f.interpreter), standIn: true, cacheLookup: () => undefined };
    this.envs.set(key, env);
    return env;
  }

  private symbolsOf(env: Env, res: Resolution, layout: Layout): (i: number) => ObjectSymbols {
    return (i) => {
      const path = res.objects[i]!.path;
      const p = layout.get(posix.normalize(path));
      if (p) {
        let s = this.appSymbols.get(p.binary);
        if (!s) this.appSymbols.set(p.binary, (s = objectSymbolsOfApp(p.binary.symbols)));
        return s;
      }
      if (env.standIn) return DEFINES_NOTHING;
      let s = this.diskSymbols.get(path);
      if (!s) this.diskSymbols.set(path, (s = readObjectSymbols(this.disk!.hostPath(path))));
      return s;
    };
  }

  /** Every entry point of one application resolved in `layout`, with what stops it. */
  private runApp(app: number, layout: Layout): Run[] {
    return this.entries(app).map((entry) => {
      const env = this.env(entry);
      const res = resolveGraph(entry.target, entry.facts, { source: new ComposedSource(layout, env.base), platform: env.platform, cacheLookup: env.cacheLookup, cwd: '/' });
      let problems = problemsOf(res, this.symbolsOf(env, res, layout));
      if (env.standIn) problems = problems.filter((p) => this.keepWithoutBase(p, res, layout));
      return { app, entry, res, problems };
    });
  }

  /**
   * Without a base, a missing symbol counts only when an application's library defines it (that
   * library was displaced) or its version is one an application's library was asked for; the rest
   * is the base's to provide.
   */
  private keepWithoutBase(p: Problem, res: Resolution, layout: Layout): boolean {
    if (p.class !== 'symbol') return true;
    if (p.version) {
      const file = versionFile(res, p.object, p.version);
      const provider = file === undefined ? -1 : providerOf(res, p.object, file);
      return provider >= 0 && layout.has(posix.normalize(res.objects[provider]!.path));
    }
    return this.definedByApps(p.symbol!, p.kind ?? 'func');
  }

  /** The symbols of every application library that answers to `name`. */
  private definitionsOf(name: string): ObjectSymbols[] {
    return this.apps.flatMap((_, i) => this.brought(i, name).map((b) => this.appSymbolsOf(b)));
  }

  /** Does some library an application brings define this unversioned symbol? */
  private definedByApps(symbol: string, kind: SymbolKind): boolean {
    const ref = makeRef(symbol, undefined, kind);
    return [...this.layout.values()].some((x) => (x.binary.type === 'library' || x.binary.soname !== undefined) && checkMatch(this.appSymbolsOf(x.binary).defs!, ref, false) === 'found');
  }

  private appSymbolsOf(b: AppBinary): ObjectSymbols {
    let s = this.appSymbols.get(b);
    if (!s) this.appSymbols.set(b, (s = objectSymbolsOfApp(b.symbols)));
    return s;
  }

  /** The library files of app `i` that answer to `name` (by soname, or by file name). */
  private brought(i: number, name: string): AppBinary[] {
    return this.apps[i]!.binaries.filter((b) => b.linkage !== 'script' && (b.soname === name || [b.path, ...(b.aliases ?? [])].some((p) => posix.basename(p) === name)));
  }

  /** Names each application reaches outside its own tree (the base, the shared path, nowhere). */
  private reachedOutside(runs: Run[]): Map<string, Set<number>> {
    const out = new Map<string, Set<number>>();
    const add = (name: string, app: number) => {
      if (!out.has(name)) out.set(name, new Set());
      out.get(name)!.add(app);
    };
    for (const r of runs) {
      r.res.objects.forEach((o, i) => {
        if (i === 0 || o.via === 'interpreter') return;
        const p = this.layout.get(posix.normalize(o.path));
        if (!p || p.app !== r.app || p.shared) add(o.name, r.app);
      });
      for (const m of r.res.missing) add(m.name, r.app);
    }
    return out;
  }

  /** Rounds: what an application brings but reaches only through the search path goes onto it, one file per soname. */
  private placeShared(): void {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const runs = this.apps.flatMap((_, i) => this.runApp(i, this.layout));
      const outside = this.reachedOutside(runs);
      const wanted = [...outside].filter(([name, users]) => !this.decided.has(name) && [...users].some((u) => this.brought(u, name).length > 0));
      if (wanted.length === 0) return;
      for (const [name, users] of wanted) this.decide(name, [...users].sort((a, b) => a - b), runs);
    }
  }

  /** One soname on the shared path: the base's copy or an application's, the first that serves every user. */
  private decide(name: string, users: number[], runs: Run[]): void {
    const fromBase = this.disk ? runs.filter((r) => users.includes(r.app)).flatMap((r) => r.res.objects.filter((o) => o.name === name && !this.layout.has(posix.normalize(o.path)))).map((o) => o.path)[0] : undefined;
    const seen = new Set<string>();
    const copies: Array<{ app: number; binary: AppBinary }> = [];
    for (const u of users) {
      for (const b of this.brought(u, name)) {
        const key = descriptionKey(b);
        if (!seen.has(key)) copies.push({ app: u, binary: b });
        seen.add(key);
      }
    }
    const firstUser = this.entries(users[0]).at(0);
    const dir = firstUser ? this.env(firstUser).platform.defaultDirs[0] : '/lib';
    const target = fromBase ?? posix.join(dir ?? '/lib', name);
    const defs = [...copies.map((c) => this.appSymbolsOf(c.binary)), ...(fromBase && this.disk ? [readObjectSymbols(this.disk.hostPath(fromBase))] : [])];
    const trials: Array<{ label: string; file: string; defines: string; failures: Array<{ app: number; problems: Problem[]; runs: Run[] }> }> = [];
    const candidates: Array<{ app: number; binary: AppBinary } | undefined> = [...(fromBase ? [undefined] : []), ...copies];
    for (const c of candidates) {
      const layout: Layout = new Map(this.layout);
      const placed: Placed | undefined = c ? { app: c.app, binary: c.binary, facts: factsOfApp(c.binary), target, id: `compose:shared:${target}`, shared: true } : undefined;
      if (placed) layout.set(target, placed);
      const failures = users
        .map((u) => {
          const rs = this.runApp(u, layout);
          return { app: u, runs: rs, problems: rs.flatMap((r) => r.problems.filter((p) => concerns(p, r.res, name, defs))) };
        })
        .filter((f) => f.problems.length > 0);
      if (failures.length === 0) {
        if (placed) this.layout.set(target, placed);
        this.decided.set(name, { ...(placed ? { placed } : {}), ...(placed && fromBase ? { replaces: fromBase } : {}) });
        return;
      }
      trials.push({ label: c ? `${this.apps[c.app]!.name}'s` : "the base's", file: c ? this.fileName(c.app, c.binary) : fromBase!, defines: c ? definesText(c.binary.defines) : 'its own versions', failures });
    }
    // None serves every user: keep the first application's copy in the layout, so later rounds move on.
    const first = copies[0]!;
    const placed: Placed = { app: first.app, binary: first.binary, facts: factsOfApp(first.binary), target, id: `compose:shared:${target}`, shared: true };
    this.layout.set(target, placed);
    this.decided.set(name, { placed, conflict: this.conflictReason(name, users, target, copies, fromBase, trials) });
  }

  private conflictReason(name: string, users: number[], target: string, copies: Array<{ app: number; binary: AppBinary }>, fromBase: string | undefined, trials: Array<{ label: string; file: string; defines: string; failures: Array<{ app: number; problems: Problem[]; runs: Run[] }> }>): ComposeReason {
    const names = users.map((u) => this.apps[u]!.name);
    const bringers = [...new Set(copies.map((c) => this.apps[c.app]!.name))];
    const where = fromBase ? `the base's ${fromBase}, which the loader finds first` : `${posix.dirname(target)}`;
    const head = copies.length > 1 ? `${bringers.join(' and ')} bring different files of ${name} that would meet on one search path (${where}; no $ORIGIN RUNPATH keeps them apart), and none serves all` : `${bringers.join(', ')}'s ${name} and ${fromBase ? `the base's ${fromBase}` : 'the others'} would meet on one search path (${where}), and none serves all`;
    const parts = trials.map((t) => {
      const lacks = t.failures.map((f) => `${this.apps[f.app]!.name} lacks ${[...new Set(f.problems.map((p) => lackText(p, f.runs)))].join(', ')}`).join('; ');
      return `with ${t.label} (${t.file}, ${t.defines}), ${lacks}`;
    });
    const all = trials.flatMap((t) => t.failures.flatMap((f) => f.problems));
    const version = all.find((p) => p.class === 'version');
    const symbol = all.find((p) => p.class === 'symbol');
    const cls: ComposeReasonClass = version ? 'version' : symbol ? 'symbol' : (all[0]?.class ?? 'soname');
    return {
      class: cls,
      apps: names,
      soname: name,
      ...(version?.version ? { version: version.version } : {}),
      ...(!version && symbol?.symbol ? { symbol: symbol.symbol } : {}),
      files: [...copies.map((c) => this.fileName(c.app, c.binary)), ...(fromBase ? [fromBase] : [])],
      message: `${name}: ${head}: ${parts.join('; ')}`,
    };
  }

  private fileName(app: number, b: AppBinary): string {
    const a = this.apps[app]!;
    return a.hostBase ? posix.join(a.hostBase, b.path) : `${a.name}:${b.path}`;
  }

  /** Problems left after the shared path is settled, except those a named conflict already covers. */
  private remainingProblems(runs: Run[]): ComposeReason[] {
    const out: ComposeReason[] = [];
    const seen = new Set<string>();
    const conflicted = [...this.decided].filter(([, d]) => d.conflict).map(([n]) => ({ n, defs: this.definitionsOf(n) }));
    for (const r of runs) {
      for (const p of r.problems) {
        if (conflicted.some((c) => concerns(p, r.res, c.n, c.defs))) continue;
        const name = this.apps[r.app]!.name;
        const base = this.disk !== undefined && this.fromBase(p, r);
        const message = `${name}: ${p.message}`;
        if (seen.has(message)) continue;
        seen.add(message);
        out.push({ class: p.class, apps: [name], ...(p.soname ? { soname: p.soname } : {}), ...(p.version ? { version: p.version } : {}), ...(p.symbol ? { symbol: p.symbol } : {}), ...(base ? { base: true as const } : {}), message });
      }
    }
    return out;
  }

  /** Is this problem the base's: a file it lacks, or a version or symbol its own file lacks? */
  private fromBase(p: Problem, r: Run): boolean {
    const placedAt = (i: number) => i >= 0 && this.layout.has(posix.normalize(r.res.objects[i]!.path));
    if (p.class === 'interpreter' || p.class === 'soname' || p.class === 'machine' || p.class === 'loader-error') return !(p.soname && this.apps.some((_, i) => this.brought(i, p.soname!).length > 0));
    if (p.class === 'version') return !placedAt(p.provider ?? -1);
    if (p.version) {
      const file = versionFile(r.res, p.object, p.version);
      return !placedAt(file === undefined ? -1 : providerOf(r.res, p.object, file));
    }
    return !this.definedByApps(p.symbol!, p.kind ?? 'func');
  }

  private interpreterConflict(): ComposeReason | undefined {
    const by = new Map<string, Placed[]>();
    for (const e of this.entries()) {
      const i = e.binary.interpreter;
      if (i === undefined) continue;
      if (!by.has(i)) by.set(i, []);
      by.get(i)!.push(e);
    }
    if (by.size < 2) return undefined;
    const groups = [...by].map(([interp, es]) => `${interp} (${es.map((e) => `${this.apps[e.app]!.name}: ${e.binary.path}`).join(', ')}; ${machineName(es[0]!.facts.machine)}, ${es[0]!.facts.class}-bit)`);
    const [a, b] = [...by.values()].map((es) => es[0]!.facts);
    const why =
      a!.class !== b!.class
        ? `the ${a!.class}-bit loader refuses the other's programs ("wrong ELF class: ELFCLASS${b!.class}"), and the other way round ("wrong ELF class: ELFCLASS${a!.class}")`
        : a!.machine !== b!.machine
          ? 'each loader refuses the other machine\'s programs'
          : 'each loader has its own default directories and ld.so.cache';
    const apps = [...new Set([...by.values()].flat().map((e) => this.apps[e.app]!.name))];
    return { class: 'interpreter', apps, message: `${by.size} program interpreters: ${groups.join(' and ')}: one container's loader cannot run them all: ${why}` };
  }

  private baseGlibc(): { glibc?: string } {
    const native = hostPlatform(this.opts.base);
    const table = this.cache ? cacheLookupTable(this.cache, cacheFlagsFor(native.machine, native.class), native.hwcaps) : new Map<string, string>();
    for (const c of [table.get('libc.so.6'), ...native.defaultDirs.map((d) => `${d}/libc.so.6`)]) {
      if (c === undefined) continue;
      const r = this.disk!.open(c);
      if (r.ok && r.facts.machine === native.machine && r.facts.class === native.class) {
        const g = highestVersion(r.facts.verdef, 'GLIBC_');
        return g ? { glibc: g } : {};
      }
    }
    return {};
  }

  private origin(path: string): string {
    const p = this.layout.get(posix.normalize(path));
    return p ? this.apps[p.app]!.name : 'base';
  }

  private loadsOf(runs: Run[]): Array<{ soname: string; path: string; from: string }> {
    const out = new Map<string, { soname: string; path: string; from: string }>();
    for (const r of runs) r.res.objects.forEach((o, i) => i > 0 && o.via !== 'interpreter' && out.set(`${o.name}\0${posix.normalize(o.path)}`, { soname: o.name, path: posix.normalize(o.path), from: this.origin(o.path) }));
    return [...out.values()];
  }

  private sharedSonames(runs: Run[]): ComposeReport['shared'] {
    const bySoname = new Map<string, Map<string, Set<string>>>();
    for (const r of runs) {
      r.res.objects.forEach((o, i) => {
        if (i === 0 || o.via === 'interpreter') return;
        const soname = o.facts.soname ?? o.name;
        if (!bySoname.has(soname)) bySoname.set(soname, new Map());
        const files = bySoname.get(soname)!;
        const path = posix.normalize(o.path);
        if (!files.has(path)) files.set(path, new Set());
        files.get(path)!.add(this.apps[r.app]!.name);
      });
    }
    const out: ComposeReport['shared'] = [];
    for (const [soname, files] of [...bySoname].sort(([a], [b]) => a.localeCompare(b))) {
      const apps = [...new Set([...files.values()].flatMap((s) => [...s]))];
      if (apps.length < 2) continue;
      const conflict = this.decided.get(soname)?.conflict !== undefined;
      out.push({ soname, apps, files: [...files].map(([path, users]) => ({ path, from: this.origin(path), apps: [...users] })), keptApart: files.size > 1, conflict });
    }
    return out;
  }

  private mergedSet(): ComposeReport['files'] {
    const out: ComposeReport['files'] = [];
    this.apps.forEach((a, i) => {
      for (const b of a.binaries) {
        for (const rel of [b.path, ...(b.aliases ?? [])]) out.push({ app: a.name, path: rel, ...(a.hostBase ? { host: posix.join(a.hostBase, rel) } : {}), target: posix.join(prefixOf(a.name), rel) });
      }
      for (const d of this.decided.values()) if (d.placed && d.placed.app === i && !d.conflict) out.push({ app: a.name, path: d.placed.binary.path, ...(a.hostBase ? { host: posix.join(a.hostBase, d.placed.binary.path) } : {}), target: d.placed.target });
    });
    return out;
  }

  /** Per versioned library the apps take from the base: the highest version of each family, and who needs it. */
  private needs(runs: Run[]): ComposeReport['needs'] {
    const top = new Map<string, { soname: string; version: string; apps: Set<string> }>();
    for (const r of runs) {
      r.res.objects.forEach((o, i) => {
        if (!this.layout.has(posix.normalize(o.path))) return;
        for (const need of o.facts.verneed) {
          const p = providerOf(r.res, i, need.file);
          if (p >= 0 && this.layout.has(posix.normalize(r.res.objects[p]!.path))) continue;
          for (const v of need.versions) {
            if (v.weak) continue;
            const family = /^(.*?_)[\d.]+$/.exec(v.name)?.[1];
            if (!family) continue;
            const key = `${need.file}\0${family}`;
            const cur = top.get(key);
            const cmp = cur ? compareDotted(v.name.slice(family.length), cur.version.slice(family.length)) : 1;
            if (cmp > 0) top.set(key, { soname: need.file, version: v.name, apps: new Set([this.apps[r.app]!.name]) });
            else if (cmp === 0) cur!.apps.add(this.apps[r.app]!.name);
          }
        }
      });
    }
    return [...top.values()].sort((a, b) => a.soname.localeCompare(b.soname) || a.version.localeCompare(b.version)).map((n) => ({ soname: n.soname, version: n.version, apps: [...n.apps] }));
  }
}

function readCache(disk: DiskSource): LdCache | null {
  try {
    return readLdCache(disk.hostPath('/etc/ld.so.cache'));
  } catch (e) {
    if (e instanceof FormatError) return null;
    throw e;
  }
}

/** The loaded object that answers object `from`'s need of `file` (as the version check finds it). */
function providerOf(res: Resolution, from: number, file: string): number {
  const e = res.edges.find((x) => x.from === from && x.name === file && x.to >= 0);
  if (e) return e.to;
  return res.objects.findIndex((o) => o.facts.soname === file || o.name === file);
}

/** The library object `object` asks for `version` (its Verneed file). */
function versionFile(res: Resolution, object: number, version: string): string | undefined {
  return res.objects[object]!.facts.verneed.find((n) => n.versions.some((v) => v.name === version))?.file;
}

/** Does this problem come from soname `name`: missing, a version of it, or a symbol its candidates define? */
function concerns(p: Problem, res: Resolution, name: string, candidateDefs: ObjectSymbols[]): boolean {
  if (p.class !== 'symbol') return p.soname === name;
  if (p.version) return versionFile(res, p.object, p.version) === name;
  const ref = makeRef(p.symbol!, undefined, p.kind ?? 'func');
  return candidateDefs.some((d) => d.defs !== undefined && checkMatch(d.defs, ref, false) === 'found');
}

function definesText(defines: string[] | undefined): string {
  return defines?.length ? `defines ${defines.join(', ')}` : 'no version nodes';
}

/** What a user of a soname lacks in a candidate, and which of its objects needs it. */
function lackText(p: Problem, runs: Run[]): string {
  const run = runs.find((r) => r.problems.includes(p))!;
  const by = run.res.objects[p.object]!.path;
  if (p.class === 'version') return `${p.version} (needed by ${by})`;
  if (p.class === 'symbol') return `${p.symbol}${p.version ? `@${p.version}` : ''} (undefined symbol, needed by ${by})`;
  return p.message;
}

/** What stops one resolution, in the loader's words: missing objects, versions, then symbols. */
function problemsOf(res: Resolution, symbolsOf: (i: number) => ObjectSymbols): Problem[] {
  const out: Problem[] = [];
  const by = (i: number) => (i === 0 ? '' : ` (needed by ${res.objects[i]!.path})`);
  if (res.interpreterProblem) out.push({ class: 'interpreter', object: 0, message: `${res.objects[0]!.path}: program interpreter ${res.interpreterProblem}` });
  for (const m of res.missing) {
    if (m.error) out.push({ class: 'loader-error', soname: m.name, object: m.requestedBy, message: `${m.name}${by(m.requestedBy)}: ${m.error}` });
    else if (m.wrongClass.length) out.push({ class: 'machine', soname: m.name, object: m.requestedBy, message: `${m.name}${by(m.requestedBy)} found only for another machine or class: ${m.wrongClass.join(', ')}` });
    else out.push({ class: 'soname', soname: m.name, object: m.requestedBy, message: `${m.name}${by(m.requestedBy)} not found` });
  }
  for (const v of versionProblems(res)) {
    const provider = res.objects[v.provider]!;
    const top = highestVersion(provider.facts.verdef, /^(.*?_)[\d.]+$/.exec(v.version)?.[1] ?? '\0');
    out.push({ class: 'version', soname: v.file, version: v.version, object: v.object, provider: v.provider, message: `${v.version} needed by ${res.objects[v.object]!.path} from ${v.file}, ${provider.path} has ${top ? `up to ${top}` : definesText(provider.facts.verdef)}` });
  }
  if (out.length > 0) return out;
  for (const p of bindSymbols(res, symbolsOf)) {
    const what = `${p.symbol}${p.version ? `, version ${p.version}` : ''}`;
    out.push({ class: 'symbol', symbol: p.symbol, kind: p.kind, ...(p.version ? { version: p.version } : {}), object: p.object, message: `undefined symbol: ${what} (needed by ${res.objects[p.object]!.path})${p.lazy ? ' (at its first call)' : ''}` });
  }
  return out;
}
