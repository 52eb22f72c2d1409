import { statSync } from 'node:fs';
import { posix } from 'node:path';
import { type AppBinary, type AppSymbols, factsOfApp } from './app.js';
import { machineName, machineNumber } from './elf.js';
import { highestVersion, type HostIndex, IndexSource } from './host-index.js';
import type { ObjectFacts, ObjectSource, OpenResult } from './object-source.js';
import { loaderPlatform, type LoaderPlatform } from './platform.js';
import { resolveGraph, type Resolution, versionProblems } from './resolve.js';
import { tableFromBase64 } from './symbol-table.js';
import { bindSymbols, type ObjectSymbols, parseRefList, type Ref, type SymbolProblem } from './symbols.js';

export type ReasonKind = 'missing-library' | 'wrong-architecture' | 'missing-version' | 'missing-interpreter' | 'loader-error' | 'missing-symbol';

export interface Reason {
  kind: ReasonKind;
  /** The application binary (path inside the application) the problem stops. */
  binary: string;
  soname?: string;
  version?: string;
  message: string;
  /** What kind of problem, for machines: `symbol` for a missing symbol. */
  class?: string;
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

export interface CheckReport {
  compatible: boolean;
  reasons: Reason[];
  binaries: Array<{ path: string; compatible: boolean; libraries: ResolvedLibrary[] }>;
  host: { machine: string; class: 32 | 64; glibc?: string; fingerprint: string };
}

export interface CheckInput {
  kind: 'binary' | 'directory' | 'rootfs';
  binaries: AppBinary[];
}

export interface CheckOptions {
  /** LD_LIBRARY_PATH entries as the application will run with them. */
  ldLibraryPath?: string[];
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
    // Every ancestor exists as a directory, as it does in the unpacked application.
    let d = posix.dirname(p);
    let name = posix.basename(p);
    for (;;) {
      let s = this.dirs.get(d);
      if (!s) this.dirs.set(d, (s = new Set()));
      s.add(name);
      if (d === '/' || d === this.mount) break;
      name = posix.basename(d);
      d = posix.dirname(d);
    }
  }

  place(p: string): string {
    return posix.join(this.mount || '/', p);
  }

  show(raw: string): string {
    const p = posix.normalize(raw);
    return this.mount && p.startsWith(`${this.mount}/`) ? p.slice(this.mount.length + 1) : p;
  }

  isApp(p: string): boolean {
    return this.files.has(posix.normalize(p));
  }

  list(raw: string): ReadonlySet<string> | undefined {
    // The kernel resolves '..' in what the loader opens; the overlay's keys are normalized.
    const dir = posix.normalize(raw);
    if (this.merged.has(dir)) return this.merged.get(dir);
    const mine = this.dirs.get(dir);
    const theirs = dir === this.mount || dir.startsWith(`${this.mount}/`) ? undefined : this.host.list(dir);
    const out = mine && theirs ? new Set([...mine, ...theirs]) : (mine ?? theirs);
    this.merged.set(dir, out);
    return out;
  }

  open(raw: string): OpenResult {
    const path = posix.normalize(raw);
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
  const add = (r: Reason) => {
    const key = `${r.kind}\0${r.binary}\0${r.soname ?? ''}\0${r.version ?? ''}\0${r.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      reasons.push(r);
    }
  };
  const hostMachine = machineName(index.machine);
  const report: CheckReport = {
    compatible: true,
    reasons,
    binaries: [],
    host: { machine: hostMachine, class: index.class, fingerprint: index.fingerprint, ...(index.glibc ? { glibc: index.glibc } : {}) },
  };
  const loaders = new Map<string, { platform: LoaderPlatform; lookup: Map<string, string> }>();
  const reached = new Set<string>();

  const run = (b: AppBinary) => {
    const before = reasons.length;
    const libraries: ResolvedLibrary[] = [];
    const path = overlay.place(b.path);
    const machine = machineNumber(b.machine) ?? -1;
    const foreign = machine !== index.machine || b.class !== index.class;
    if (b.linkage === 'script') {
      if (b.interpreter && !overlay.isApp(overlay.place(b.interpreter)) && !exists(b.interpreter)) {
        add({ kind: 'missing-interpreter', binary: b.path, message: `${b.path}: script interpreter ${b.interpreter} not found on this node` });
      }
    } else if (b.linkage === 'static') {
      if (foreign) add({ kind: 'wrong-architecture', binary: b.path, message: `${b.path}: built for ${b.machine} (${b.class}-bit), this node runs ${hostMachine} (${index.class}-bit)` });
    } else {
      const key = `${machine}/${b.class}`;
      let loader = loaders.get(key);
      if (!loader) {
        const platform = loaderPlatform(machine, b.class, '/', machine === index.machine && b.class === index.class ? { hwcaps: index.hwcaps } : { hwcaps: [] });
        loaders.set(key, (loader = { platform, lookup: host.cacheLookup(machine, b.class) }));
      }
      const { platform, lookup } = loader;
      const res = resolveGraph(path, overlay.factsOf(b), {
        source: overlay,
        platform,
        cacheLookup: (s) => lookup.get(s),
        ldLibraryPath: opts.ldLibraryPath,
        cwd: overlay.place('.'),
      });
      if (res.interpreterProblem && b.type === 'executable') {
        if (foreign) add({ kind: 'wrong-architecture', binary: b.path, message: `${b.path}: built for ${b.machine} (${b.class}-bit), this node runs ${hostMachine} (${index.class}-bit) and has no ${b.machine} loader` });
        add({ kind: 'missing-interpreter', binary: b.path, message: `${b.path}: program interpreter ${res.interpreterProblem.replace(/^\S+ /, `${b.interpreter ?? ''} `)}` });
      }
      collect(b, res, libraries);
      // The loader relocates only once every object has loaded and every version was found.
      if (reasons.length === before) bind(b, res);
    }
    report.binaries.push({ path: b.path, compatible: reasons.length === before, libraries });
  };

  const collect = (b: AppBinary, res: Resolution, libraries: ResolvedLibrary[]) => {
    res.objects.forEach((o, i) => {
      if (i === 0 || o.via === 'interpreter') return;
      reached.add(posix.normalize(o.path));
      libraries.push({ soname: o.name, path: overlay.show(o.path), from: overlay.isApp(o.path) ? 'application' : 'host' });
    });
    for (const m of res.missing) {
      libraries.push({ soname: m.name, path: null, from: 'none' });
      const by = overlay.show(res.objects[m.requestedBy]!.path);
      const via = by === b.path ? '' : ` (needed by ${by})`;
      if (m.error) add({ kind: 'loader-error', binary: b.path, soname: m.name, message: `${b.path}: ${m.name}${via}: ${m.error}` });
      else if (m.wrongClass.length) {
        const what = m.wrongClass.map((p) => overlay.show(p)).join(', ');
        add({ kind: 'wrong-architecture', binary: b.path, soname: m.name, message: `${b.path}: ${m.name}${via} found only for another machine or class: ${what}` });
      } else add({ kind: 'missing-library', binary: b.path, soname: m.name, message: `${b.path}: ${m.name}${via} not found` });
    }
    for (const v of versionProblems(res)) {
      const provider = res.objects[v.provider]!;
      const by = overlay.show(res.objects[v.object]!.path);
      const prefix = /^(.*?_)[\d.]+$/.exec(v.version)?.[1];
      const top = prefix ? highestVersion(provider.facts.verdef, prefix) : undefined;
      const has = top ? `has up to ${top}` : `defines ${provider.facts.verdef.slice(0, 8).join(', ')}${provider.facts.verdef.length > 8 ? ', …' : ''}`;
      add({ kind: 'missing-version', binary: b.path, soname: v.file, version: v.version, message: `${b.path}: ${v.version} needed${by === b.path ? '' : ` by ${by}`} from ${v.file}, ${overlay.show(provider.path)} ${has}` });
    }
  };

  const appSymbols = new Map<AppBinary, ObjectSymbols>();
  const hostSymbols = new Map<string, ObjectSymbols>();
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
    for (const p of bindSymbols(res, symbolsOf(res))) add(symbolReason(b, p, overlay.show(res.objects[p.object]!.path), p.provider === undefined ? undefined : overlay.show(res.objects[p.provider]!.path)));
  };

  const roots = app.binaries.filter((b) => b.type === 'executable');
  for (const b of roots) run(b);
  // Libraries no executable loads (plugins, or a spec of a library alone) are checked on their own.
  for (const b of app.binaries) if (b.type !== 'executable' && !reached.has(overlay.place(b.path))) run(b);
  report.compatible = reasons.length === 0;
  return report;
}

/** A spec's symbols as the binding wants them; a spec written before symbols were recorded binds nothing. */
function objectSymbolsOfApp(s: AppSymbols | undefined): ObjectSymbols {
  if (!s) return { bindNow: false };
  const refs: Ref[] = [];
  if (s.functions) parseRefList(s.functions, 'func', refs);
  if (s.data) parseRefList(s.data, 'data', refs);
  if (s.tls) parseRefList(s.tls, 'tls', refs);
  return { refs, bindNow: s.bindNow === true, defs: { table: s.defs ? tableFromBase64(s.defs) : new Uint32Array(0), unversioned: s.unversioned === true } };
}

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

function exists(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
