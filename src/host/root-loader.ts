import { readElf } from './elf.js';
import { FormatError } from './file-reader.js';
import { hostPlatform } from './host-index.js';
import { highestVersion } from './versions.js';
import { readLdSoConf } from './ld-so-conf.js';
import { cacheFlagsFor, cacheLookupTable, type LdCache, readLdCache } from './ldcache.js';
import { resolveInRoot } from './object-source.js';

/** How the loader of a root file system (an unpacked image) finds libraries, as a spec records it. */
export interface RootLoader {
  /** The program interpreter of the root's own programs (its shell's, else the machine's usual one). */
  interpreter?: string;
  /** The directories that loader searches after its cache, read from its file. */
  defaultDirs: string[];
  /** Its `/etc/ld.so.cache`: whether there is one the loader can read, and how many entries. */
  ldSoCache: { present: boolean; entries: number };
  /** The directories `/etc/ld.so.conf` names (includes followed): what the cache was made from. */
  ldSoConf: string[];
  /** The highest GLIBC_ version its libc.so.6 (found as its loader finds it) defines. */
  glibc?: string;
}

/** Reads the root's loader configuration; nothing in it is run. */
export function describeRootLoader(root: string): RootLoader {
  const platform = hostPlatform(root);
  const cache = readCache(root);
  const glibc = rootGlibc(root, cache, platform);
  return {
    ...(platform.interpreter ? { interpreter: platform.interpreter } : {}),
    defaultDirs: platform.defaultDirs,
    ldSoCache: { present: cache !== null, entries: cache?.entries.length ?? 0 },
    ldSoConf: readLdSoConf(root),
    ...(glibc ? { glibc } : {}),
  };
}

function readCache(root: string): LdCache | null {
  try {
    return readLdCache(resolveInRoot(root, '/etc/ld.so.cache'));
  } catch (e) {
    if (e instanceof FormatError) return null;
    throw e;
  }
}

function rootGlibc(root: string, cache: LdCache | null, platform: ReturnType<typeof hostPlatform>): string | undefined {
  const lookup = cache ? cacheLookupTable(cache, cacheFlagsFor(platform.machine, platform.class), platform.hwcaps) : new Map<string, string>();
  const candidates = [lookup.get('libc.so.6'), ...platform.defaultDirs.map((d) => `${d}/libc.so.6`)].filter((x): x is string => x !== undefined);
  for (const c of candidates) {
    try {
      const elf = readElf(resolveInRoot(root, c));
      if (elf.machine === platform.machine && elf.class === platform.class) return highestVersion(elf.verdef, 'GLIBC_');
    } catch {
      // Not there, or not an ELF file: the loader goes on to the next candidate too.
    }
  }
  return undefined;
}
