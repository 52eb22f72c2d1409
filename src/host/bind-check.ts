import { readdirSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { machineName, readElf } from './elf.js';
import { FormatError } from './file-reader.js';
import { hostPlatform } from './host-index.js';
import { highestVersion } from './versions.js';
import { hostX86IsaLevel, x86IsaNames, x86IsaRefused } from './isa.js';
import { cacheFlagsFor, cacheLookupTable, type LdCache, readLdCache } from './ldcache.js';
import { DiskLoader } from './loader.js';
import { DiskSource, factsOf, type ObjectFacts, type ObjectSource, type OpenResult } from './object-source.js';
import { loaderPlatform } from './platform.js';
import { resolveGraph, type Resolution, versionProblems } from './resolve.js';
import { bindSymbols, type ObjectSymbols } from './symbols.js';
import { readObjectSymbols } from './undefined-symbols.js';

/** A host file or directory and where it appears inside the container. */
export interface Bind {
  host: string;
  target: string;
}

export interface BindCheckOptions {
  /** The container's root file system, unpacked (absolute host path). */
  root: string;
  /** The host libraries to bind in. */
  libs: Bind[];
  /** Host directories bound in whole (the container's directory at the target is hidden by it). */
  bindDirs?: Bind[];
  /** Programs of the container (paths inside it) to check for shadowing besides those in its bin directories. */
  apps?: string[];
}

export type BindReasonClass = 'soname' | 'version' | 'symbol' | 'machine' | 'isa' | 'interpreter' | 'loader-error' | 'shadowing';

export interface BindReason {
  class: BindReasonClass;
  /** The bound host library the problem is of (its target path), or the container program it breaks. */
  library?: string;
  program?: string;
  soname?: string;
  version?: string;
  symbol?: string;
  message: string;
}

export interface BindReport {
  compatible: boolean;
  container: { root: string; machine: string; class: 32 | 64; glibc?: string };
  libraries: Array<Bind & { soname?: string; compatible: boolean; loads: Array<{ soname: string; path: string; from: 'container' | 'bound' | 'injected' }> }>;
  /** Host files that must come along for the closures to load (the minimal injection set). */
  inject: Array<Bind & { neededBy: string }>;
  /** Everything to bind: the libraries, the injected files, the directories. */
  binds: Bind[];
  /** LD_LIBRARY_PATH the container's programs need to find the bound files (their target directories). */
  libraryPath: string[];
  /** Set when a library needs a newer glibc than the container's: glibc itself would have to be replaced. */
  glibcReplacement?: { needed: string; has?: string };
  reasons: BindReason[];
  warnings: BindReason[];
}

/** glibc's own libraries: one set, from one build, never mixed with another glibc's. */
const GLIBC_FAMILY = /^(libc\.so\.6|libm\.so\.6|libmvec\.so\.1|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libresolv\.so\.2|libutil\.so\.1|libanl\.so\.1|libnsl\.so\.1|libBrokenLocale\.so\.1|libthread_db\.so\.1|libc_malloc_debug\.so\.0|libnss_[a-z]+\.so\.2|ld-linux[-a-z0-9_]*\.so\.\d+|ld64\.so\.\d+)$/;
export function isGlibcLibrary(soname: string): boolean {
  return GLIBC_FAMILY.test(soname);
}

const BIN_DIRS = ['/bin', '/usr/bin', '/sbin', '/usr/sbin', '/usr/local/bin'];
/** Programs of the container looked at for shadowing, at most. */
const MAX_PROGRAMS = 5000;
/** Rounds of injection (each adds at least one file), at most. */
const MAX_ROUNDS = 64;

/** The container's files with host files laid over them at their targets, as bind mounts lay them. */
class BoundFiles implements ObjectSource {
  private readonly files = new Map<string, string>();
  private readonly names = new Map<string, Set<string>>();
  private readonly host = new DiskSource('/');

  constructor(
    private readonly disk: DiskSource,
    binds: Iterable<Bind>,
    private readonly dirs: Bind[],
  ) {
    for (const b of binds) {
      const t = posix.normalize(b.target);
      this.files.set(t, b.host);
      const d = posix.dirname(t);
      if (!this.names.has(d)) this.names.set(d, new Set());
      this.names.get(d)!.add(posix.basename(t));
    }
  }

  isBound(p: string): boolean {
    const t = posix.normalize(p);
    return this.files.has(t) || this.dirs.some((d) => t.startsWith(`${d.target}/`));
  }

  /** Where a path inside the container lies on the host. */
  hostPath(p: string): string {
    const t = posix.normalize(p);
    const f = this.files.get(t);
    if (f) return f;
    const d = this.dirs.find((x) => t.startsWith(`${x.target}/`));
    return d ? posix.join(d.host, t.slice(d.target.length)) : this.disk.hostPath(t);
  }

  list(raw: string): ReadonlySet<string> | undefined {
    const dir = posix.normalize(raw);
    const bd = this.dirs.find((x) => x.target === dir);
    const base = bd ? this.host.list(bd.host) : this.disk.list(dir);
    const mine = this.names.get(dir);
    if (!mine) return base;
    return new Set([...(base ?? []), ...mine]);
  }

  open(raw: string): OpenResult {
    const t = posix.normalize(raw);
    return this.isBound(t) ? this.host.open(this.hostPath(t)) : this.disk.open(t);
  }
}

interface Problem {
  class: BindReasonClass;
  soname?: string;
  version?: string;
  symbol?: string;
  /** A need of a glibc library that the container's glibc lacks. */
  glibc?: string;
  /** An unversioned reference of the root object: the program that loads it may define it. */
  leftToProgram?: boolean;
  message: string;
}

/**
 * Can these host libraries be bound into this container? Each library's closure is resolved as
 * the container's loader will resolve it after the bind (the container's ld.so.cache and default
 * directories, the bound files at their targets found through LD_LIBRARY_PATH); a need the
 * container cannot meet that the host's own copy can brings that copy along (the injection set),
 * except glibc's own libraries, which cannot be swapped one by one. Then the container's programs
 * are resolved again with the binds: a bound file that shadows one they needed is a reason too.
 */
export function bindCheck(opts: BindCheckOptions): BindReport {
  const root = opts.root;
  const disk = new DiskSource(root);
  const native = hostPlatform(root);
  const cache = readCache(root);
  const libs = opts.libs.map((l) => ({ ...l, elf: readElf(l.host) }));
  const dirs = opts.bindDirs ?? [];
  const lookups = new Map<string, Map<string, string>>();
  const platformOf = (f: ObjectFacts) => {
    const platform = loaderPlatform(f.machine, f.class, root);
    const key = `${f.machine}/${f.class}`;
    if (!lookups.has(key)) lookups.set(key, cache ? cacheLookupTable(cache, cacheFlagsFor(f.machine, f.class), platform.hwcaps) : new Map());
    return { platform, lookup: lookups.get(key)! };
  };
  const resolveIn = (source: ObjectSource, path: string, facts: ObjectFacts, libraryPath: string[]): Resolution => {
    const { platform, lookup } = platformOf(facts);
    return resolveGraph(path, facts, { source, platform, cacheLookup: (s) => lookup.get(s), ldLibraryPath: libraryPath, cwd: '/' });
  };
  const glibc = containerGlibc(disk, native, platformOf);
  const symbolCache = new Map<string, ObjectSymbols>();
  const symbolsAt = (hostPath: string) => {
    let s = symbolCache.get(hostPath);
    if (!s) symbolCache.set(hostPath, (s = readObjectSymbols(hostPath)));
    return s;
  };

  // The injection rounds: resolve, bring the host's copy of what cannot be met inside, again.
  const hostProvider = hostProviders(libs.map((l) => ({ path: l.host, elf: l.elf })));
  const injectDir = posix.dirname(libs[0]!.target);
  const binds = new Map<string, Bind & { neededBy?: string }>(libs.map((l) => [posix.normalize(l.target), { host: l.host, target: l.target }]));
  let source = new BoundFiles(disk, binds.values(), dirs);
  let libraryPath: string[] = [];
  let results: Resolution[] = [];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    source = new BoundFiles(disk, binds.values(), dirs);
    libraryPath = [...new Set([...[...binds.values()].map((b) => posix.dirname(posix.normalize(b.target))), ...dirs.map((d) => d.target)])];
    results = libs.map((l) => resolveIn(source, l.target, factsOf(l.elf), libraryPath));
    let added = false;
    const bring = (soname: string, neededBy: string, version?: string) => {
      if (isGlibcLibrary(soname)) return;
      const host = hostProvider.get(soname);
      const target = posix.join(injectDir, soname);
      if (!host || binds.has(target)) return;
      if (version && !definesVersion(host, version)) return;
      binds.set(target, { host, target, neededBy });
      added = true;
    };
    results.forEach((res) => {
      for (const m of res.missing) if (!m.error) bring(m.name, shownName(res, m.requestedBy));
      for (const v of versionProblems(res)) if (!source.isBound(res.objects[v.provider]!.path)) bring(v.file, shownName(res, v.object), v.version);
    });
    if (!added) break;
  }

  const report: BindReport = {
    compatible: true,
    container: { root, machine: machineName(native.machine), class: native.class, ...(glibc ? { glibc } : {}) },
    libraries: [],
    inject: [...binds.values()].filter((b) => b.neededBy !== undefined).map((b) => ({ host: b.host, target: b.target, neededBy: b.neededBy! })),
    binds: [...[...binds.values()].map((b) => ({ host: b.host, target: b.target })), ...dirs],
    libraryPath,
    reasons: [],
    warnings: [],
  };
  const injected = new Set(report.inject.map((b) => posix.normalize(b.target)));
  const isa = native.machine === 62 || native.machine === 3 ? hostX86IsaLevel() : undefined;
  const symbolsOfRes = (res: Resolution) => (i: number) => symbolsAt(source.hostPath(res.objects[i]!.path));
  libs.forEach((l, k) => {
    const res = results[k]!;
    const problems = l.elf.machine !== native.machine || l.elf.class !== native.class ? [wrongPlatform(l.elf, native)] : problemsOf(res, symbolsOfRes(res), isa);
    for (const p of problems) {
      const r: BindReason = { class: p.class, library: l.target, ...(p.soname ? { soname: p.soname } : {}), ...(p.version ? { version: p.version } : {}), ...(p.symbol ? { symbol: p.symbol } : {}), message: `${l.elf.soname ?? posix.basename(l.target)}: ${p.message}` };
      if (p.leftToProgram) report.warnings.push(r);
      else report.reasons.push(r);
      if (p.glibc && (!report.glibcReplacement || compareGlibc(p.glibc, report.glibcReplacement.needed) > 0)) report.glibcReplacement = { needed: p.glibc, ...(glibc ? { has: glibc } : {}) };
    }
    const loads = res.objects.slice(1).filter((o) => o.via !== 'interpreter').map((o) => ({ soname: o.name, path: o.path, from: injected.has(posix.normalize(o.path)) ? ('injected' as const) : source.isBound(o.path) ? ('bound' as const) : ('container' as const) }));
    report.libraries.push({ host: l.host, target: l.target, ...(l.elf.soname ? { soname: l.elf.soname } : {}), compatible: !problems.some((p) => !p.leftToProgram), loads });
  });
  if (report.glibcReplacement) {
    const g = report.glibcReplacement;
    report.warnings.push({ class: 'version', message: `glibc itself would have to be replaced: the bound libraries need ${g.needed}, the container's glibc has ${g.has ? `up to ${g.has}` : 'no GLIBC_ versions'}; binding the host's libc would run every program of the container on it` });
  }
  report.reasons.push(...shadowing(disk, source, programsOf(disk, opts.apps ?? []), libraryPath, resolveIn, symbolsAt, isa));
  report.compatible = report.reasons.length === 0;
  return report;
}

function readCache(root: string): LdCache | null {
  try {
    return readLdCache(new DiskSource(root).hostPath('/etc/ld.so.cache'));
  } catch (e) {
    if (e instanceof FormatError) return null;
    throw e;
  }
}

/** The highest GLIBC_ version the container's libc.so.6 defines (found as its loader finds it). */
function containerGlibc(disk: DiskSource, native: ReturnType<typeof hostPlatform>, platformOf: (f: ObjectFacts) => { lookup: Map<string, string> }): string | undefined {
  const { lookup } = platformOf({ machine: native.machine, class: native.class } as ObjectFacts);
  const candidates = [lookup.get('libc.so.6'), ...native.defaultDirs.map((d) => `${d}/libc.so.6`)].filter((x): x is string => x !== undefined);
  for (const c of candidates) {
    const r = disk.open(c);
    if (r.ok && r.facts.machine === native.machine && r.facts.class === native.class) return highestVersion(r.facts.verdef, 'GLIBC_');
  }
  return undefined;
}

/** soname → the host file the host's own loader uses for it, over every library's closure on the host. */
function hostProviders(libs: Array<{ path: string; elf: ReturnType<typeof readElf> }>): Map<string, string> {
  const loader = new DiskLoader({});
  const out = new Map<string, string>();
  for (const l of libs) {
    const res = loader.resolve(l.path, l.elf);
    for (const o of res.objects.slice(1)) {
      if (!out.has(o.name)) out.set(o.name, o.path);
      if (o.facts.soname && !out.has(o.facts.soname)) out.set(o.facts.soname, o.path);
    }
  }
  return out;
}

function definesVersion(path: string, version: string): boolean {
  try {
    return readElf(path).verdef.includes(version);
  } catch {
    return false;
  }
}

function shownName(res: Resolution, i: number): string {
  const o = res.objects[i]!;
  return o.facts.soname ?? posix.basename(o.path);
}

function wrongPlatform(elf: ObjectFacts, native: { machine: number; class: 32 | 64 }): Problem {
  return { class: 'machine', message: `built for ${machineName(elf.machine)} (${elf.class}-bit), the container's programs are ${machineName(native.machine)} (${native.class}-bit): their loader skips it ("wrong ELF class")` };
}

function compareGlibc(a: string, b: string): number {
  const x = a.slice(6).split('.').map(Number);
  const y = b.slice(6).split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** What stops one resolution, in the loader's words: missing objects, versions, ISA levels, then symbols. */
function problemsOf(res: Resolution, symbolsOf: (i: number) => ObjectSymbols, isa: number | undefined): Problem[] {
  const out: Problem[] = [];
  const by = (i: number) => (i === 0 ? '' : ` (needed by ${shownName(res, i)})`);
  if (res.interpreterProblem) out.push({ class: 'interpreter', message: `the container has no loader for it: ${res.interpreterProblem}` });
  for (const m of res.missing) {
    if (m.error) out.push({ class: 'loader-error', soname: m.name, message: `${m.name}${by(m.requestedBy)}: ${m.error}` });
    else if (m.wrongClass.length) out.push({ class: 'machine', soname: m.name, message: `${m.name}${by(m.requestedBy)} found only for another machine or class: ${m.wrongClass.join(', ')}` });
    else out.push({ class: 'soname', soname: m.name, message: `${m.name}${by(m.requestedBy)} not found in the container, nor on the host to bring along` });
  }
  for (const v of versionProblems(res)) {
    const provider = res.objects[v.provider]!;
    const top = highestVersion(provider.facts.verdef, /^(.*?_)[\d.]+$/.exec(v.version)?.[1] ?? '\0');
    const g = isGlibcLibrary(v.file) && v.version.startsWith('GLIBC_');
    out.push({ class: 'version', soname: v.file, version: v.version, ...(g ? { glibc: v.version } : {}), message: `${v.version} needed${by(v.object)} from ${v.file}, the container's ${provider.path} has ${top ? `up to ${top}` : 'other versions'}` });
  }
  if (isa !== undefined) {
    res.objects.forEach((o) => {
      if (o.via !== 'interpreter' && x86IsaRefused(o.facts.x86IsaNeeded, isa)) out.push({ class: 'isa', message: `${o.path}: CPU ISA level is lower than required (needs ${x86IsaNames(o.facts.x86IsaNeeded!).join(', ')})` });
    });
  }
  if (out.length > 0) return out;
  for (const p of bindSymbols(res, symbolsOf)) {
    const what = `${p.symbol}${p.version ? `, version ${p.version}` : ''}`;
    // An unversioned reference of the bound library itself may be defined by the program that loads it.
    const left = p.object === 0 && p.version === undefined;
    out.push({ class: 'symbol', symbol: p.symbol, ...(p.version ? { version: p.version } : {}), ...(left ? { leftToProgram: true } : {}), message: `undefined symbol: ${what}${by(p.object)}${left ? ' (left to the program that loads it)' : p.lazy ? ' (at its first call)' : ''}` });
  }
  return out;
}

/** The container's programs: executables in its bin directories (links resolved inside it), and those named. */
function programsOf(disk: DiskSource, named: string[]): string[] {
  const out = new Set<string>(named);
  const seen = new Set<string>();
  for (const d of BIN_DIRS) {
    const host = disk.hostPath(d);
    if (seen.has(host)) continue;
    seen.add(host);
    let names: string[];
    try {
      names = readdirSync(host);
    } catch {
      continue;
    }
    for (const n of names.sort()) {
      if (out.size >= MAX_PROGRAMS) return [...out];
      try {
        const st = statSync(disk.hostPath(`${d}/${n}`));
        if (st.isFile() && (st.mode & 0o111) !== 0) out.add(`${d}/${n}`);
      } catch {
        /* a dangling link: nothing to run */
      }
    }
  }
  return [...out];
}

type ResolveIn = (source: ObjectSource, path: string, facts: ObjectFacts, libraryPath: string[]) => Resolution;

/**
 * A bound file found first (LD_LIBRARY_PATH) takes the place of the container's own copy for
 * every program that needs that name: each program that loads a bound file and then fails, having
 * loaded before, is a reason naming what the bound copy lacks.
 */
function shadowing(disk: DiskSource, bound: BoundFiles, programs: string[], libraryPath: string[], resolveIn: ResolveIn, symbolsAt: (host: string) => ObjectSymbols, isa: number | undefined): BindReason[] {
  const out: BindReason[] = [];
  for (const prog of programs) {
    const r = disk.open(prog);
    if (!r.ok || !r.facts.dynamic || !r.facts.interpreter) continue;
    const after = resolveIn(bound, prog, r.facts, libraryPath);
    const takes = after.objects.filter((o, i) => i > 0 && bound.isBound(o.path));
    if (takes.length === 0) continue;
    const problems = problemsOf(after, (i) => symbolsAt(bound.hostPath(after.objects[i]!.path)), isa).filter((p) => !p.leftToProgram);
    if (problems.length === 0) continue;
    const before = resolveIn(disk, prog, r.facts, []);
    if (problemsOf(before, (i) => symbolsAt(disk.hostPath(before.objects[i]!.path)), isa).some((p) => !p.leftToProgram)) continue;
    const instead = takes.map((o) => `${o.path} in place of ${before.objects.find((b) => b.name === o.name)?.path ?? 'nothing'}`).join(', ');
    for (const p of problems) out.push({ class: 'shadowing', program: prog, ...(p.soname ? { soname: p.soname } : {}), ...(p.version ? { version: p.version } : {}), ...(p.symbol ? { symbol: p.symbol } : {}), message: `${prog} stops loading after the bind (it loads ${instead}): ${p.message}` });
  }
  return out;
}
