import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import type { ElfInfo } from './elf.js';
import { readElf } from './elf.js';
import { FormatError } from './file-reader.js';
import { cacheFlagsFor, cacheLookupTable, type LdCache, readLdCache } from './ldcache.js';
import { DiskSource, factsOf, type ObjectSource } from './object-source.js';
import { loaderPlatform, type LoaderPlatform } from './platform.js';
import { type Resolution, resolveGraph } from './resolve.js';

export interface LoaderOptions {
  /** Resolve inside this tree as if it were `/` (an unpacked root file system). */
  root?: string;
  /** As the loader would see it at run time; defaults to none. */
  ldLibraryPath?: string[];
  /** Override the cache file (default: `<root>/etc/ld.so.cache`); null to do without one. */
  cachePath?: string | null;
  source?: ObjectSource;
  cache?: LdCache | null;
  /** LD_PRELOAD as the program would run with it. */
  preload?: string;
  /** The preload file as a host path (`deps` passes `<root>/etc/ld.so.preload`); none by default. */
  preloadFile?: string | null;
  /** Where the program runs: relative search entries and names are taken against it. */
  cwd?: string;
  /** GLIBC_TUNABLES as the program would run with it (`glibc.cpu.hwcaps` masks glibc-hwcaps levels). */
  tunables?: string;
  /** Record a `LoadTrace` with each resolution. */
  trace?: boolean;
}

/** Splits LD_PRELOAD as `handle_preload_list` (elf/rtld.c) does: on spaces and colons. */
export function splitPreloadList(value: string | undefined): string[] {
  return value ? value.split(/[ :]/).filter((s) => s !== '') : [];
}

/**
 * The names in an ld.so.preload file, as elf/rtld.c reads it: `#` starts a comment that runs to
 * the end of the line; names are separated by spaces, tabs, newlines or colons.
 */
export function parsePreloadFile(text: string): string[] {
  return text
    .replace(/#[^\n]*/g, ' ')
    .split(/[: \t\n]/)
    .filter((s) => s !== '');
}

/** The preload file's names, or none when it is absent or unreadable (the loader checks `access(R_OK)` first). */
export function readPreloadFile(path: string | null): string[] {
  // Usually absent: checking costs less than a failed read that throws (check is on a hot path).
  if (path === null || !existsSync(path)) return [];
  try {
    return parsePreloadFile(readFileSync(path, 'latin1'));
  } catch {
    return [];
  }
}

/** LD_PRELOAD entries first, then the preload file's (`dl_main` in elf/rtld.c). */
export function preloadList(env: string | undefined, file: string | null, fileNames: string[] = readPreloadFile(file)): Array<{ name: string; from: string }> {
  return [...splitPreloadList(env).map((name) => ({ name, from: 'LD_PRELOAD' })), ...fileNames.map((name) => ({ name, from: file ?? '/etc/ld.so.preload' }))];
}

/** Splits LD_LIBRARY_PATH as the loader does: on ':' and ';'. */
export function splitLibraryPath(value: string | undefined): string[] {
  return value ? value.split(/[:;]/) : [];
}

/**
 * The loader model for real files: one ld.so.cache parse, one directory listing and one ELF parse
 * per file for as many executables as are resolved through it.
 */
export class DiskLoader {
  readonly root: string;
  readonly source: ObjectSource;
  readonly cache: LdCache | null;
  private readonly platforms = new Map<string, { platform: LoaderPlatform; lookup: Map<string, string> }>();

  constructor(private readonly opts: LoaderOptions = {}) {
    this.root = opts.root ? posix.resolve(opts.root) : '/';
    this.source = opts.source ?? new DiskSource(this.root);
    this.cache = opts.cache !== undefined ? opts.cache : loadCacheOrNull(opts.cachePath === undefined ? posix.join(this.root, 'etc/ld.so.cache') : opts.cachePath);
  }

  platformFor(elf: Pick<ElfInfo, 'machine' | 'class' | 'interpreter'>): { platform: LoaderPlatform; lookup: Map<string, string> } {
    // Each loader has its own directories and $LIB: the one the binary names is read for them.
    const key = `${elf.machine}/${elf.class}/${elf.interpreter ?? ''}`;
    let p = this.platforms.get(key);
    if (!p) {
      const platform = loaderPlatform(elf.machine, elf.class, this.root, { ...(elf.interpreter ? { interpreter: elf.interpreter } : {}), tunables: this.opts.tunables });
      const lookup = this.cache ? cacheLookupTable(this.cache, cacheFlagsFor(elf.machine, elf.class), platform.hwcaps) : new Map<string, string>();
      p = { platform, lookup };
      this.platforms.set(key, p);
    }
    return p;
  }

  /** Resolves the executable at `path` (a path as seen inside the root). */
  resolve(path: string, elf?: ElfInfo): Resolution {
    const hostPath = this.root === '/' ? path : posix.join(this.root, path);
    const info = elf ?? readElf(hostPath);
    const { platform, lookup } = this.platformFor(info);
    this.preloads ??= preloadList(this.opts.preload, this.preloadFile());
    return resolveGraph(path, factsOf(info), {
      source: this.source,
      platform,
      cacheLookup: (s) => lookup.get(s),
      ldLibraryPath: this.opts.ldLibraryPath,
      preload: this.preloads,
      exeOrigin: this.exeOrigin(path),
      ...(this.opts.cwd !== undefined ? { cwd: this.opts.cwd } : {}),
      trace: this.opts.trace === true,
      ...(this.opts.trace ? fileIdentity(hostPath) : {}),
    });
  }

  private preloads: Array<{ name: string; from: string }> | undefined;

  private preloadFile(): string | null {
    return this.opts.preloadFile ?? null;
  }

  /** The kernel gives the loader the executable's real path, so `$ORIGIN` follows symbolic links. */
  private exeOrigin(path: string): string {
    const abs = posix.resolve(path);
    if (this.root !== '/') return posix.dirname(abs);
    try {
      return posix.dirname(realpathSync.native(abs));
    } catch {
      return posix.dirname(abs);
    }
  }
}

function fileIdentity(path: string): { exeFile?: { dev: number; ino: number } } {
  try {
    const st = statSync(path);
    return { exeFile: { dev: st.dev, ino: st.ino } };
  } catch {
    return {};
  }
}

function loadCacheOrNull(path: string | null): LdCache | null {
  if (path === null) return null;
  try {
    return readLdCache(path);
  } catch (e) {
    // Like the loader: an absent or unusable cache just means searching the default directories.
    if (e instanceof FormatError) return null;
    throw e;
  }
}
