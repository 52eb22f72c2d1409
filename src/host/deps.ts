import { posix } from 'node:path';
import { machineName, probeFile } from './elf.js';
import { FormatError } from './file-reader.js';
import { DiskLoader, splitLibraryPath } from './loader.js';
import type { LoadTrace } from './load-trace.js';
import type { Resolution, Via } from './resolve.js';

export interface DependencyReport {
  path: string;
  linkage: 'dynamic' | 'static' | 'script';
  machine?: string;
  class?: 32 | 64;
  interpreter?: string;
  /** Every object the loader maps, in load order; the loader itself only when something names it (as ldd shows it). */
  libraries: Array<{ soname: string; path: string; via: Via; neededBy: string; depth: number }>;
  missing: Array<{ soname: string; neededBy: string; wrongClass?: string[]; error?: string }>;
  interpreterProblem?: string;
  /** Preloads (LD_PRELOAD, ld.so.preload) the loader would report and ignore. */
  ignoredPreloads?: Array<{ name: string; from: string; message: string }>;
  /** Searches that depend on the working directory the program runs in. */
  dependsOnCwd?: Array<{ name: string; neededBy: string; source: string }>;
  /** Every object and every search with its candidates, in rtld-audit's terms. */
  trace?: LoadTrace;
  /** Internal: the resolution, for the tree view. */
  resolution?: Resolution;
}

export interface DependencyOptions {
  root?: string;
  ldLibraryPath?: string;
  /** LD_PRELOAD as the program would run with it. */
  preload?: string;
  /** The preload file (host path); default `<root>/etc/ld.so.preload`, null for none. */
  preloadFile?: string | null;
  /** Where the program runs (default: this process's working directory). */
  cwd?: string;
  /** GLIBC_TUNABLES as the program would run with it. */
  tunables?: string;
}

export function dependencyReport(path: string, opts: DependencyOptions = {}): DependencyReport {
  const preloadFile = opts.preloadFile !== undefined ? opts.preloadFile : posix.join(opts.root ? posix.resolve(opts.root) : '/', 'etc/ld.so.preload');
  const loader = new DiskLoader({ root: opts.root, ldLibraryPath: splitLibraryPath(opts.ldLibraryPath), preload: opts.preload, preloadFile, cwd: opts.cwd, tunables: opts.tunables, trace: true });
  const inner = opts.root ? `/${posix.relative(posix.resolve(opts.root), posix.resolve(opts.root, path.replace(/^\//, '')))}` : path;
  const kind = probeFile(opts.root ? posix.join(loader.root, inner) : path);
  if (kind.kind === 'other') throw new FormatError(path, 'not-elf', 'not an ELF file');
  if (kind.kind === 'script') return { path, linkage: 'script', interpreter: kind.interpreter, libraries: [], missing: [] };
  const elf = kind.elf;
  const base = { path, machine: machineName(elf.machine), class: elf.class, ...(elf.interpreter ? { interpreter: elf.interpreter } : {}) };
  if (!elf.dynamic) return { ...base, linkage: 'static', libraries: [], missing: [] };
  const res = loader.resolve(inner, elf);
  const referenced = new Set(res.edges.map((e) => e.to));
  const libraries = res.objects
    .map((o, i) => ({ o, i }))
    .filter(({ o, i }) => i > 0 && (o.via !== 'interpreter' || referenced.has(i)))
    .map(({ o, i }) => ({
      soname: o.via === 'interpreter' ? (o.facts.soname ?? posix.basename(o.path)) : o.name,
      path: o.path,
      via: o.via,
      neededBy: res.objects[o.loader >= 0 ? o.loader : (res.edges.find((e) => e.to === i)?.from ?? 0)]!.path,
      depth: o.depth,
    }));
  const missing = res.missing.map((m) => ({ soname: m.name, neededBy: res.objects[m.requestedBy]!.path, ...(m.wrongClass.length ? { wrongClass: m.wrongClass } : {}), ...(m.error ? { error: m.error } : {}) }));
  const cwdUses = res.cwdUses.map((u) => ({ name: u.name, neededBy: res.objects[u.object]!.path, source: u.source }));
  const report: DependencyReport = {
    ...base,
    linkage: 'dynamic',
    libraries,
    missing,
    ...(res.interpreterProblem ? { interpreterProblem: res.interpreterProblem } : {}),
    ...(res.ignoredPreloads.length ? { ignoredPreloads: res.ignoredPreloads } : {}),
    ...(cwdUses.length ? { dependsOnCwd: cwdUses } : {}),
    ...(res.trace ? { trace: res.trace } : {}),
  };
  Object.defineProperty(report, 'resolution', { value: res, enumerable: false });
  return report;
}

/** A libtree-style tree: each object under the one that loaded it, each shown once. */
export function renderTree(r: DependencyReport): string {
  if (r.linkage === 'script') return `${r.path}: script, interpreter ${r.interpreter}\n`;
  if (r.linkage === 'static') return `${r.path}: statically linked (${r.machine}, ${r.class}-bit)\n`;
  const res = r.resolution!;
  const lines = [`${r.path}${r.interpreterProblem ? ` [interpreter: ${r.interpreterProblem}]` : ''}`];
  const children = (i: number) => res.edges.filter((e) => e.from === i && (e.to < 0 || res.objects[e.to]!.loader === i) && !(e.to >= 0 && res.objects[e.to]!.via === 'interpreter'));
  const walk = (i: number, prefix: string) => {
    const kids = children(i);
    kids.forEach((e, k) => {
      const last = k === kids.length - 1;
      const branch = `${prefix}${last ? '└── ' : '├── '}`;
      if (e.to < 0) {
        const m = res.missing.find((x) => x.name === e.name && x.requestedBy === i);
        lines.push(`${branch}${e.name} not found${m?.wrongClass.length ? ` (only for another machine or class: ${m.wrongClass.join(', ')})` : ''}${m?.error ? ` (${m.error})` : ''}`);
        return;
      }
      const o = res.objects[e.to]!;
      lines.push(`${branch}${e.name} => ${o.path} [${o.via}]`);
      walk(e.to, `${prefix}${last ? '    ' : '│   '}`);
    });
  };
  walk(0, '');
  return `${lines.join('\n')}\n`;
}
