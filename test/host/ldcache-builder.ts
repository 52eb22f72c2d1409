/**
 * Writes `/etc/ld.so.cache` images by hand, in glibc's layout (elf/cache.c, sysdeps/generic/dl-cache.h):
 *
 *   struct cache_file_new { char magic[17] "glibc-ld.so.cache"; char version[3] "1.1";
 *     uint32 nlibs; uint32 len_strings; uint8 flags; uint8 pad[3]; uint32 extension_offset; uint32 unused[3]; }  // 48 bytes
 *   struct file_entry_new { int32 flags; uint32 key, value; uint32 osversion; uint64 hwcap; }                 // 24 bytes
 *   string table; then, 4-aligned, struct cache_extension { uint32 magic 0xeaa42174; uint32 count;
 *     struct { uint32 tag, flags, offset, size; } sections[count]; } and the sections' data.
 *
 * With `oldEntries`, the image starts with an old-format ("ld.so-1.7.0") header and that many
 * 12-byte entries, as `ldconfig -c compat` writes it, and the new format follows at the next
 * 8-byte boundary. Offsets then have two origins, exactly as glibc 2.36's save_cache() writes them:
 * string-table indices (entry key/value, and the glibc-hwcaps name indices) count from the new
 * header, while `extension_offset` and the extension sections' offsets count from the start of
 * the file ("File offset of the extension directory" in dl-cache.h; cache_extension_load() is
 * handed the file base by both ld.so and ldconfig -p).
 */

export interface CacheSpecEntry {
  flags: number;
  soname: string;
  path: string;
  /** Raw hwcap word; use `hwcapsIndex` for a glibc-hwcaps entry instead. */
  hwcap?: bigint;
  /** Index into `hwcaps`: sets bit 62 and the low 32 bits, as ldconfig does. */
  hwcapsIndex?: number;
  osversion?: number;
}

export interface CacheSpec {
  entries: CacheSpecEntry[];
  /** glibc-hwcaps subdirectory names (extension tag 1). */
  hwcaps?: string[];
  /** Generator string (extension tag 0). */
  generator?: string;
  endian?: 'little' | 'big';
  oldEntries?: number;
}

export const EXT_MAGIC = 0xeaa42174;
const HWCAP_EXTENSION = 1n << 62n;

export function buildLdCache(spec: CacheSpec): Buffer {
  const le = (spec.endian ?? 'little') === 'little';
  const oldLen = spec.oldEntries === undefined ? 0 : Math.ceil((16 + spec.oldEntries * 12) / 8) * 8;
  const entries = spec.entries;
  const hwcaps = spec.hwcaps ?? [];

  // String table right after the entries; offsets are from the new header.
  const strStart = 48 + entries.length * 24;
  const strParts: Buffer[] = [];
  const strAt = new Map<string, number>();
  let strLen = 0;
  const addStr = (s: string) => {
    const known = strAt.get(s);
    if (known !== undefined) return known;
    const off = strStart + strLen;
    const b = Buffer.from(`${s}\0`, 'latin1');
    strParts.push(b);
    strLen += b.length;
    strAt.set(s, off);
    return off;
  };
  const keys = entries.map((e) => [addStr(e.soname), addStr(e.path)] as const);
  const hwcapOffs = hwcaps.map((h) => addStr(h));

  const sections: Array<{ tag: number; data: Buffer }> = [];
  if (spec.generator !== undefined) sections.push({ tag: 0, data: Buffer.from(spec.generator, 'latin1') });
  if (hwcaps.length > 0) {
    const d = Buffer.alloc(hwcaps.length * 4);
    hwcapOffs.forEach((o, i) => (le ? d.writeUInt32LE(o, i * 4) : d.writeUInt32BE(o, i * 4)));
    sections.push({ tag: 1, data: d });
  }

  let extOff = 0;
  let size = strStart + strLen;
  if (sections.length > 0) {
    extOff = Math.ceil(size / 4) * 4;
    size = extOff + 8 + sections.length * 16;
    for (const s of sections) size = Math.ceil(size / 4) * 4 + s.data.length;
  }

  const b = Buffer.alloc(size);
  const u32 = (o: number, v: number) => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
  const i32 = (o: number, v: number) => (le ? b.writeInt32LE(v, o) : b.writeInt32BE(v, o));
  const u64 = (o: number, v: bigint) => (le ? b.writeBigUInt64LE(v, o) : b.writeBigUInt64BE(v, o));
  b.write('glibc-ld.so.cache1.1', 0, 'latin1');
  u32(20, entries.length);
  u32(24, strLen);
  b[28] = le ? 2 : 3;
  u32(32, extOff === 0 ? 0 : oldLen + extOff);
  entries.forEach((e, i) => {
    const o = 48 + i * 24;
    i32(o, e.flags);
    u32(o + 4, keys[i]![0]);
    u32(o + 8, keys[i]![1]);
    u32(o + 12, e.osversion ?? 0);
    u64(o + 16, e.hwcapsIndex !== undefined ? HWCAP_EXTENSION | BigInt(e.hwcapsIndex) : (e.hwcap ?? 0n));
  });
  Buffer.concat(strParts).copy(b, strStart);
  if (sections.length > 0) {
    u32(extOff, EXT_MAGIC);
    u32(extOff + 4, sections.length);
    let data = extOff + 8 + sections.length * 16;
    sections.forEach((s, i) => {
      data = Math.ceil(data / 4) * 4;
      const o = extOff + 8 + i * 16;
      u32(o, s.tag);
      u32(o + 4, 0);
      u32(o + 8, oldLen + data);
      u32(o + 12, s.data.length);
      s.data.copy(b, data);
      data += s.data.length;
    });
  }

  if (spec.oldEntries === undefined) return b;
  const n = spec.oldEntries;
  const old = Buffer.alloc(oldLen);
  old.write('ld.so-1.7.0', 0, 'latin1');
  old.writeUInt32LE(n, 12);
  for (let i = 0; i < n; i++) old.writeInt32LE(0x303, 16 + i * 12);
  return Buffer.concat([old, b]);
}
