import { lstatSync, readdirSync, realpathSync, type Stats, statSync } from 'node:fs';
import { posix } from 'node:path';
import { appBinaryFromElf, type AppBinary } from '../host/app.js';
import { type ElfInfo, probeFileMode, readElf } from '../host/elf.js';
import { tableToBase64 } from '../host/symbol-table.js';
import { FormatError, fileSystemError, isRegularFile } from '../host/file-reader.js';
import { highestVersion } from '../host/versions.js';
import { DiskLoader } from '../host/loader.js';
import { resolveInRoot } from '../host/object-source.js';
import { expandTokens, type Resolution } from '../host/resolve.js';
import { legacyAttributes } from './legacy.js';
import { ociArchitecture } from './architecture.js';
import { comparePaths } from './path-order.js';
import type { CompatSpec } from './spec-types.js';

export interface GenOptions {
  /** Describe an unpacked root file system: paths resolve inside it as if it were `/`. */
  root?: string;
  name?: string;
  /** Timestamp recorded in the spec; defaults to now. */
  created?: Date;
  /**
   * Called for each file or directory inside a tree that exists but cannot be read (permission
   * denied, I/O error); the spec then describes the rest. Without it, the first one is an error.
   */
  onUnreadable?: (path: string, reason: string) => void;
  /** Real paths of files a recorded run loaded after start-up: marked `loadedAt: runtime`. */
  runtime?: Set<string>;
}

interface Found {
  /** Absolute host path of the file (its real path). */
  real: string;
  /** Every path (host, absolute) under which it was seen. */
  seen: Set<string>;
  elf?: ElfInfo;
  script?: string;
  scriptArgument?: string;
  /** Has an execute bit: only then can the kernel run it (an ELF file without one is only loaded). */
  runnable: boolean;
}

/**
 * Describes binaries, a directory tree or a root file system by reading their ELF headers; nothing
 * is executed. Libraries the tree itself supplies (found through `$ORIGIN`, or inside the tree
 * being described) are recorded as bundled: they travel with the application, and their own needs
 * are checked like the rest.
 */
export function generateSpec(inputs: string[], opts: GenOptions = {}): CompatSpec {
  const root = opts.root ? posix.resolve(opts.root) : undefined;
  if (root) assertDirectory(root);
  const loader = new DiskLoader({ root });
  const files = new Map<string, Found>();
  let kind: CompatSpec['kind'] = root ? 'rootfs' : 'binary';
  const treeRoots: string[] = [];

  // Inside a root file system, absolute links point into the root, not at the host.
  const reals = new Map<string, string>();
  const realOf = (p: string, notLink = false): string => {
    let r = reals.get(p);
    if (r === undefined) {
      r = root ? resolveInRoot(root, `/${posix.relative(root, p)}`) : notLink ? inRealDir(p) : realpathSync.native(p);
      reals.set(p, r);
    }
    return r;
  };
  // A file that is no symbolic link is its directory's real path plus its name: one realpath per
  // directory instead of a failed readlink per path component of every file.
  const realDirs = new Map<string, string>();
  const inRealDir = (p: string): string => {
    const dir = posix.dirname(p);
    let d = realDirs.get(dir);
    if (d === undefined) realDirs.set(dir, (d = realpathSync.native(dir)));
    return d === '/' ? `/${posix.basename(p)}` : `${d}/${posix.basename(p)}`;
  };
  const safeReal = (p: string): string => {
    try {
      return realOf(p);
    } catch {
      return p;
    }
  };
  const unreadable = (path: string, e: FormatError) => {
    if (!opts.onUnreadable) throw e;
    opts.onUnreadable(path, e.message.startsWith(`${e.file}: `) ? e.message.slice(e.file.length + 2) : e.message);
  };
  /**
   * `notLink`: the caller knows `hostPath` is no symbolic link (an lstat or a directory entry said
   * so); `st`: that lstat, which then stands for the open file's fstat.
   */
  const add = (hostPath: string, explicit: boolean, notLink = false, st?: Stats) => {
    let real: string;
    try {
      real = realOf(hostPath, notLink);
    } catch (e) {
      const err = e instanceof FormatError ? e : fileSystemError(hostPath, e);
      if (explicit) throw err;
      if (isUnreadable(err)) unreadable(hostPath, err);
      return;
    }
    const known = files.get(real);
    if (known) {
      known.seen.add(hostPath);
      return;
    }
    let kindOf;
    let mode: number;
    try {
      // Executables' definitions are read only if the application has libraries of its own (below).
      ({ file: kindOf, mode } = probeFileMode(real, { symbols: 'auto' }, root ? undefined : st));
    } catch (e) {
      if (!explicit && isUnreadable(e)) return unreadable(hostPath, e);
      // Inside a tree, what cannot be opened (a link to a directory, a dangling link, a device) is not a binary.
      if (!explicit && e instanceof FormatError && (e.kind === 'is-directory' || e.kind === 'not-found' || e.kind === 'unreadable')) return;
      throw e;
    }
    if (kindOf.kind === 'other') {
      if (explicit) throw new FormatError(hostPath, 'not-elf', 'not an ELF file or a script');
      return;
    }
    // Any execute bit: what the kernel's execve asks of a file (fs/exec.c: do_open_execat, MAY_EXEC).
    const runnable = (mode & 0o111) !== 0;
    // A `#!` first line makes a program only of a file execve accepts (a mode-644 module is data).
    if (kindOf.kind === 'script' && !runnable) {
      if (explicit) throw new FormatError(hostPath, 'not-elf', 'is a script without an execute bit: not a program');
      return;
    }
    files.set(real, { real, seen: new Set([hostPath, real]), runnable, ...(kindOf.kind === 'elf' ? { elf: kindOf.elf } : { script: kindOf.interpreter, ...(kindOf.argument ? { scriptArgument: kindOf.argument } : {}) }) });
  };

  const inputsToWalk = root ? [root] : inputs.map((p) => posix.resolve(p));
  if (inputsToWalk.length === 0) throw new FormatError('(no input)', 'not-found', 'give at least one binary or directory');
  for (const p of inputsToWalk) {
    let st;
    let link = false;
    try {
      st = lstatSync(p);
      link = st.isSymbolicLink();
      if (link) st = statSync(p);
    } catch (e) {
      throw fileSystemError(p, e);
    }
    if (st.isDirectory()) {
      if (!root) kind = 'directory';
      treeRoots.push(realpathSync.native(p));
      walk(p, (f, isFile) => add(f, false, isFile), unreadable);
    } else add(p, true, !link, link ? undefined : st);
  }

  // Paths as the loader inside the described system sees them.
  const inner = (hostPath: string) => (root ? `/${posix.relative(root, hostPath)}` : hostPath);
  const outer = (innerPath: string) => (root ? posix.join(root, innerPath) : innerPath);
  const inTree = (hostPath: string) => treeRoots.some((t) => hostPath === t || hostPath.startsWith(`${t}/`));

  const resolutions = new Map<string, Resolution>();
  const bundledOf = new Map<string, string[]>();
  const pending = [...files.values()];
  while (pending.length > 0) {
    const f = pending.shift()!;
    if (!f.elf?.dynamic) continue;
    // A lone binary bundles only what its own $ORIGIN entries reach; without one, nothing to find.
    if (kind === 'binary' && !usesOrigin(f.elf)) continue;
    const first = [...f.seen][0]!;
    const res = loader.resolve(inner(first), f.elf);
    resolutions.set(f.real, res);
    const bundled: string[] = [];
    const app = new Set([0]);
    res.objects.forEach((o, i) => {
      if (i === 0 || o.via === 'interpreter') return;
      const host = outer(o.path);
      // For a lone binary, only the application's own objects can bring libraries along.
      const travels = root !== undefined || inTree(safeReal(host)) || (kind === 'binary' && app.has(o.loader) && foundThroughOrigin(res, i, loader));
      if (!travels) return;
      app.add(i);
      // Every glibc-hwcaps copy travels too: the node that runs it may pick another level than this CPU.
      for (const copy of [host, ...hwcapsCopies(host)]) {
        let real = safeReal(copy);
        if (!files.has(real)) {
          add(copy, false);
          const nf = files.get(real);
          if (nf) pending.push(nf);
        } else files.get(real)!.seen.add(copy);
        real = files.has(real) ? real : copy;
        if (!bundled.includes(real)) bundled.push(real);
      }
    });
    bundledOf.set(f.real, bundled);
  }

  const all = [...files.values()];
  const base = root ?? (kind === 'directory' && treeRoots.length === 1 ? treeRoots[0]! : commonDir(all.flatMap((f) => [...f.seen])));
  const rel = (p: string) => posix.relative(base, p) || posix.basename(p);
  const binaries: AppBinary[] = [];
  const realPathOf = new Map<AppBinary, string>();
  for (const f of all) {
    const names = [...f.seen].filter((p) => p === base || p.startsWith(base === '/' ? '/' : `${base}/`)).map(rel);
    const path = names.includes(rel(f.real)) ? rel(f.real) : names[0] ?? posix.basename(f.real);
    const aliases = [...new Set(names.filter((n) => n !== path))].sort();
    if (f.script !== undefined) {
      binaries.push({ path, ...(aliases.length ? { aliases } : {}), type: 'executable', linkage: 'script', machine: 'any', class: 64, interpreter: f.script, ...(f.scriptArgument ? { interpreterArgument: f.scriptArgument } : {}), needed: [] });
      continue;
    }
    const b = appBinaryFromElf(path, f.elf!, (bundledOf.get(f.real) ?? []).map(rel), f.runnable);
    realPathOf.set(b, f.real);
    if (aliases.length) b.aliases = aliases;
    if (opts.runtime?.has(f.real)) b.loadedAt = 'runtime';
    binaries.push(b);
  }
  binaries.sort((a, b) => (a.type === b.type ? comparePaths(a.path, b.path) : a.type === 'executable' ? -1 : 1));
  addExecutableDefinitions(binaries, realPathOf);

  const firstElf = binaries.find((b) => b.linkage !== 'script');
  const glibc = highestVersion(new Set(binaries.flatMap((b) => b.needed.flatMap((n) => n.versions))), 'GLIBC_');
  const exe = binaries.find((b) => b.type === 'executable' && b.linkage !== 'script') ?? firstElf;
  const exeFile = exe ? all.find((f) => rel(f.real) === exe.path || f.seen.has(posix.join(base, exe.path))) : undefined;
  const exeRes = exeFile?.elf?.dynamic ? (resolutions.get(exeFile.real) ?? loader.resolve(inner([...exeFile.seen][0]!), exeFile.elf)) : undefined;
  const sonames = exeRes ? exeRes.objects.slice(1).map((o) => (o.via === 'interpreter' ? (o.facts.soname ?? posix.basename(o.path)) : o.name)) : (exe?.needed.map((n) => n.soname) ?? []);
  return {
    schemaVersion: 1,
    kind,
    name: opts.name ?? posix.basename(kind === 'binary' && exe ? exe.path : base),
    created: (opts.created ?? new Date()).toISOString(),
    platform: {
      os: 'linux',
      architecture: firstElf ? ociArchitecture(firstElf.machine, firstElf.class) : 'unknown',
      ...(firstElf ? { machine: firstElf.machine } : {}),
      ...(glibc ? { glibc } : {}),
    },
    binaries,
    attributes: exe ? legacyAttributes(posix.basename(exe.path), sonames) : {},
  };
}

/**
 * The other copies of a library that the loader would choose between on another CPU: the same name
 * in the search directory itself and in each of its `glibc-hwcaps/<level>` subdirectories
 * (`_dl_important_hwcaps`, glibc ≥ 2.33).
 */
export function hwcapsCopies(path: string): string[] {
  const name = posix.basename(path);
  const dir = posix.dirname(posix.normalize(path)).replace(/\/glibc-hwcaps\/[^/]+$/, '');
  const out = [posix.join(dir, name)];
  try {
    for (const level of readdirSync(posix.join(dir, 'glibc-hwcaps'))) out.push(posix.join(dir, 'glibc-hwcaps', level, name));
  } catch {
    // No glibc-hwcaps subdirectory: the plain copy is the only one.
  }
  const self = posix.normalize(path);
  return out.filter((p) => p !== self && isRegularFile(p));
}


/**
 * A check binds only the references the spec records, and an executable's own references never bind
 * to itself: its definitions matter only to the application's libraries. Read them (a large table
 * for programs that export thousands, such as node) only when one of those has references to bind.
 */
function addExecutableDefinitions(binaries: AppBinary[], realOf: Map<AppBinary, string>): void {
  const libraryRefs = binaries.some((b) => b.type === 'library' && (b.symbols?.functions || b.symbols?.data || b.symbols?.tls));
  for (const b of binaries) {
    const real = realOf.get(b);
    if (b.type !== 'executable' || !b.symbols || real === undefined) continue;
    // An executable with a soname is loaded as a library too (glibc's libc.so.6 runs and is needed):
    // the programs of the tree bind to it.
    if (!libraryRefs && !b.soname) continue;
    const s = readElf(real, { symbols: 'defs' }).symbols;
    if (s?.defs.length) b.symbols.defs = tableToBase64(s.defs);
  }
}

function usesOrigin(elf: ElfInfo): boolean {
  const list = elf.runpath ?? elf.rpath ?? [];
  return list.some((el) => /\$(\{ORIGIN\}|ORIGIN)/.test(el));
}

/** Did the requesting object's RPATH/RUNPATH reach this library through an `$ORIGIN` entry? */
function foundThroughOrigin(res: Resolution, i: number, loader: DiskLoader): boolean {
  const o = res.objects[i]!;
  if (o.via !== 'rpath' && o.via !== 'runpath') return false;
  const dir = posix.dirname(o.path);
  for (let l = o.loader; l >= 0; l = res.objects[l]!.loader) {
    const f = res.objects[l]!.facts;
    const list = o.via === 'runpath' ? f.runpath : f.runpath ? undefined : f.rpath;
    const { platform } = loader.platformFor(f);
    // The resolver's own $ORIGIN for that object: a symlinked executable keeps its real directory.
    const origin = res.objects[l]!.origin ?? posix.dirname(posix.resolve(res.objects[l]!.path));
    for (const el of list ?? []) {
      if (!/\$(\{ORIGIN\}|ORIGIN)/.test(el)) continue;
      const d = expandTokens(el, origin, platform);
      if (d && (dir === d.replace(/\/+$/, '') || dir.startsWith(`${d.replace(/\/+$/, '')}/`))) return true;
    }
    if (o.via === 'runpath') break;
  }
  return false;
}

/** A file that exists but cannot be read, as opposed to one that is not a binary at all. */
function isUnreadable(e: unknown): e is FormatError {
  return e instanceof FormatError && e.kind === 'unreadable' && (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EIO');
}

/** Visits files in name order (warnings and errors come out the same on every file system). */
function walk(dir: string, visit: (file: string, isFile: boolean) => void, onUnreadable: (dir: string, e: FormatError) => void, nested = false): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    const err = fileSystemError(dir, e);
    if (nested && isUnreadable(err)) return onUnreadable(dir, err);
    throw err;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = posix.join(dir, e.name);
    if (e.isDirectory()) walk(p, visit, onUnreadable, true);
    else if (e.isFile()) visit(p, true);
    else if (e.isSymbolicLink()) visit(p, false);
  }
}

function commonDir(paths: string[]): string {
  const split = paths.map((p) => posix.dirname(p).split('/'));
  const first = split[0] ?? [''];
  let n = first.length;
  for (const s of split) {
    let i = 0;
    while (i < n && i < s.length && s[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join('/') || '/';
}

function assertDirectory(p: string): void {
  let st;
  try {
    st = statSync(p);
  } catch (e) {
    throw fileSystemError(p, e);
  }
  if (!st.isDirectory()) throw new FormatError(p, 'is-directory', 'is not a directory (--root expects an unpacked root file system)');
}
