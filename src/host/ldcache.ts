import { FileReader, FormatError } from './file-reader.js';

/** One `/etc/ld.so.cache` entry, as glibc's `struct file_entry_new` holds it. */
export interface CacheEntry {
  soname: string;
  path: string;
  flags: number;
  hwcap: bigint;
  /** For entries marked with the glibc-hwcaps extension bit: the subdirectory name (e.g. `x86-64-v3`). */
  hwcapsName?: string;
}

export interface LdCache {
  entries: CacheEntry[];
  generator?: string;
}

const MAGIC_NEW = 'glibc-ld.so.cache1.1';
const MAGIC_OLD = 'ld.so-1.7.0';
const EXT_MAGIC = 0xeaa42174;
/** Bit 62 of `hwcap` marks an entry whose low 32 bits index the glibc-hwcaps names. */
export const HWCAP_EXTENSION = 1n << 62n;

/** The loader's cache flags: low byte type (3 = ELF libc6), high byte arch. */
export const FLAG_ELF_LIBC6 = 0x0003;
export const FLAG_X8664_LIB64 = 0x0300;
export const FLAG_AARCH64_LIB64 = 0x0a00;
export const FLAG_I386_LIB32 = 0x0000;

/** The cache flags an x86_64/aarch64/i386 loader accepts, as `_dl_cache_check_flags` defines them. */
export function cacheFlagsFor(machine: number, elfClass: 32 | 64): number | undefined {
  if (machine === 62 && elfClass === 64) return FLAG_ELF_LIBC6 | FLAG_X8664_LIB64;
  if (machine === 183 && elfClass === 64) return FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64;
  if (machine === 3 && elfClass === 32) return FLAG_ELF_LIBC6 | FLAG_I386_LIB32;
  return undefined;
}

/** A plain ELF entry (`ldconfig -p` prints "ELF"), e.g. the 32-bit `ld-linux.so.2`. */
export const FLAG_ELF = 0x0001;

/**
 * Whether a loader whose own cache ID is `id` takes an entry with `flags`: x86_64 and aarch64
 * define `_dl_cache_check_flags` as an exact match; i386 keeps the generic
 * `sysdeps/generic/ldconfig.h` one, which also takes plain ELF entries (`flags == 1`).
 */
export function cacheAccepts(id: number, flags: number): boolean {
  return flags === id || (id === (FLAG_ELF_LIBC6 | FLAG_I386_LIB32) && flags === FLAG_ELF);
}

export function readLdCache(path: string): LdCache {
  const r = FileReader.open(path);
  try {
    return parseLdCache(r.bytes(0, r.size, 'ld.so.cache'), path);
  } finally {
    r.close();
  }
}

/** Parses the "new" (glibc ≥ 2.32 only writes this) format, also when it trails an old-format header. */
export function parseLdCache(buf: Buffer, path = 'ld.so.cache'): LdCache {
  let base = 0;
  if (buf.length >= MAGIC_OLD.length && buf.toString('latin1', 0, MAGIC_OLD.length) === MAGIC_OLD) {
    if (buf.length < 16) throw new FormatError(path, 'truncated', 'old-format header is truncated');
    const n = buf.readUInt32LE(12);
    base = 16 + n * 12;
    base = (base + 7) & ~7;
    if (!Number.isSafeInteger(base) || base > buf.length) throw new FormatError(path, 'truncated', 'old-format entries run past the end');
  }
  if (buf.length < base + 48) throw new FormatError(path, buf.length < 20 ? 'not-elf' : 'truncated', 'not a glibc ld.so.cache (header too short)');
  if (buf.toString('latin1', base, base + MAGIC_NEW.length) !== MAGIC_NEW) throw new FormatError(path, 'corrupt', 'not a glibc ld.so.cache in the new format (bad magic)');
  // Only the low two bits say the byte order (dl-cache.h); 1 marks a cache the loader ignores.
  const order = buf[base + 28]! & 3;
  if (order === 1) throw new FormatError(path, 'corrupt', 'cache is marked invalid (byte-order flag 1)');
  const le = order !== 3;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const i32 = (o: number) => (le ? buf.readInt32LE(o) : buf.readInt32BE(o));
  const u64 = (o: number) => (le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
  const nlibs = u32(base + 20);
  const extOff = u32(base + 32);
  const entriesStart = base + 48;
  if (entriesStart + nlibs * 24 > buf.length) throw new FormatError(path, 'truncated', `${nlibs} entries run past the end of the file`);

  const str = (off: number, what: string): string => {
    const at = base + off;
    if (off >= buf.length || at >= buf.length) throw new FormatError(path, 'corrupt', `${what} string offset ${off} lies outside the file`);
    const end = buf.indexOf(0, at);
    if (end < 0) throw new FormatError(path, 'corrupt', `${what} string at ${off} is not terminated`);
    return buf.toString('latin1', at, end);
  };

  const hwcapsNames: string[] = [];
  let generator: string | undefined;
  // The extension directory and its sections are addressed from the start of the file, also when
  // the new format trails an old one (glibc's cache_extension_load).
  if (extOff !== 0) {
    const e = extOff;
    if (e + 8 <= buf.length && u32(e) === EXT_MAGIC) {
      const count = u32(e + 4);
      if (e + 8 + count * 16 > buf.length) throw new FormatError(path, 'truncated', 'extension directory runs past the end');
      for (let i = 0; i < count; i++) {
        const s = e + 8 + i * 16;
        const tag = u32(s);
        const off = u32(s + 8);
        const size = u32(s + 12);
        if (off + size > buf.length) throw new FormatError(path, 'truncated', `extension ${tag} runs past the end`);
        if (tag === 0) generator = buf.toString('latin1', off, off + size);
        if (tag === 1) {
          if (size % 4 !== 0) throw new FormatError(path, 'corrupt', 'glibc-hwcaps extension size is not a multiple of 4');
          for (let k = 0; k < size / 4; k++) hwcapsNames.push(str(u32(off + k * 4), 'glibc-hwcaps name'));
        }
      }
    }
  }

  const entries: CacheEntry[] = [];
  for (let i = 0; i < nlibs; i++) {
    const o = entriesStart + i * 24;
    const entry: CacheEntry = { flags: i32(o), soname: str(u32(o + 4), 'key'), path: str(u32(o + 8), 'value'), hwcap: u64(o + 16) };
    if ((entry.hwcap & HWCAP_EXTENSION) !== 0n) {
      const idx = Number(entry.hwcap & 0xffffffffn);
      entry.hwcapsName = hwcapsNames[idx];
      if (entry.hwcapsName === undefined) throw new FormatError(path, 'corrupt', `entry ${i} names glibc-hwcaps index ${idx}, which does not exist`);
    }
    entries.push(entry);
  }
  return { entries, generator };
}

/**
 * soname → path as the loader's cache lookup answers it for one platform: entries of the
 * platform's flags only; a glibc-hwcaps entry wins over a plain one when its subdirectory is
 * active on this CPU (best level first); otherwise the first plain entry in file order.
 */
export function cacheLookupTable(cache: LdCache, flags: number | undefined, activeHwcaps: string[]): Map<string, string> {
  const best = new Map<string, { path: string; priority: number }>();
  if (flags === undefined) return new Map();
  for (const e of cache.entries) {
    if (!cacheAccepts(flags, e.flags)) continue;
    let priority = 0;
    if (e.hwcapsName !== undefined) {
      const i = activeHwcaps.indexOf(e.hwcapsName);
      if (i < 0) continue;
      priority = activeHwcaps.length - i;
    } else if (e.hwcap !== 0n) {
      continue;
    }
    const cur = best.get(e.soname);
    if (!cur || priority > cur.priority) best.set(e.soname, { path: e.path, priority });
  }
  return new Map([...best].map(([k, v]) => [k, v.path]));
}
