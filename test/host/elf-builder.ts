/**
 * Writes small ELF objects byte by byte, for the header shapes gcc on an x86_64 host cannot
 * produce (32-bit, big-endian, foreign machines). The output is a well-formed object that
 * `readelf` can read too, so tests can check the builder against binutils as well as the
 * code under test against the builder.
 *
 * Layout: ELF header, program headers (PT_LOAD covering the whole file, PT_INTERP, PT_DYNAMIC),
 * interpreter string, .dynstr, .gnu.version_r, .gnu.version_d, .dynamic, .shstrtab, section headers.
 */

export interface CraftVersionNeed {
  file: string;
  versions: Array<{ name: string; weak?: boolean }>;
}

export interface CraftSpec {
  class: 32 | 64;
  endian: 'little' | 'big';
  machine: number;
  /** e_type; 3 (ET_DYN) unless told. */
  type?: number;
  osabi?: number;
  interpreter?: string;
  needed?: string[];
  soname?: string;
  rpath?: string;
  runpath?: string;
  flags1?: number;
  verneed?: CraftVersionNeed[];
  /** Version names defined; a BASE entry naming the soname (or "base") comes first, as ld writes it. */
  verdef?: string[];
  /** Leave out PT_DYNAMIC (a static object). */
  noDynamic?: boolean;
  /** Leave out section headers (the loader does not need them). */
  noSections?: boolean;
}

export const BASE_VADDR = 0x10000;

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const SHT_STRTAB = 3;
const SHT_DYNAMIC = 6;
const SHT_PROGBITS = 1;
const SHT_GNU_VERDEF = 0x6ffffffd;
const SHT_GNU_VERNEED = 0x6ffffffe;

/** The SysV ELF hash, as Verneed/Verdef entries carry it. */
export function elfHash(name: string): number {
  let h = 0;
  for (const c of Buffer.from(name, 'latin1')) {
    h = ((h << 4) + c) >>> 0;
    const g = h & 0xf0000000;
    if (g !== 0) h ^= g >>> 24;
    h &= ~g >>> 0;
    h >>>= 0;
  }
  return h >>> 0;
}

class Writer {
  constructor(
    readonly buf: Buffer,
    private readonly le: boolean,
    private readonly is64: boolean,
  ) {}
  u8(o: number, v: number) {
    this.buf[o] = v;
  }
  u16(o: number, v: number) {
    if (this.le) this.buf.writeUInt16LE(v, o);
    else this.buf.writeUInt16BE(v, o);
  }
  u32(o: number, v: number) {
    if (this.le) this.buf.writeUInt32LE(v >>> 0, o);
    else this.buf.writeUInt32BE(v >>> 0, o);
  }
  u64(o: number, v: number | bigint) {
    const b = BigInt(v);
    if (this.le) this.buf.writeBigUInt64LE(b, o);
    else this.buf.writeBigUInt64BE(b, o);
  }
  /** An address-sized field: 4 bytes in ELFCLASS32, 8 in ELFCLASS64. */
  word(o: number, v: number | bigint) {
    if (this.is64) this.u64(o, v);
    else this.u32(o, Number(v));
  }
  sword(o: number, v: number) {
    if (this.is64) {
      if (this.le) this.buf.writeBigInt64LE(BigInt(v), o);
      else this.buf.writeBigInt64BE(BigInt(v), o);
    } else if (this.le) this.buf.writeInt32LE(v | 0, o);
    else this.buf.writeInt32BE(v | 0, o);
  }
}

class StrTab {
  private readonly parts: Buffer[] = [Buffer.from([0])];
  private size = 1;
  private readonly at = new Map<string, number>();
  add(s: string): number {
    const known = this.at.get(s);
    if (known !== undefined) return known;
    const off = this.size;
    const b = Buffer.from(`${s}\0`, 'latin1');
    this.parts.push(b);
    this.size += b.length;
    this.at.set(s, off);
    return off;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** Offsets of the interesting parts of a crafted file, for tests that corrupt them on purpose. */
export interface CraftLayout {
  phoff: number;
  phnum: number;
  interpOff?: number;
  dynstrOff: number;
  dynstrSize: number;
  verneedOff?: number;
  verdefOff?: number;
  dynamicOff?: number;
  dynamicSize?: number;
}

export function craftElf(spec: CraftSpec): { buf: Buffer; layout: CraftLayout } {
  const is64 = spec.class === 64;
  const le = spec.endian === 'little';
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const dynent = is64 ? 16 : 8;

  const dynstr = new StrTab();
  const needed = (spec.needed ?? []).map((n) => dynstr.add(n));
  const soname = spec.soname !== undefined ? dynstr.add(spec.soname) : undefined;
  const rpath = spec.rpath !== undefined ? dynstr.add(spec.rpath) : undefined;
  const runpath = spec.runpath !== undefined ? dynstr.add(spec.runpath) : undefined;
  const verneed = (spec.verneed ?? []).map((n) => ({ file: dynstr.add(n.file), versions: n.versions.map((v) => ({ name: v.name, off: dynstr.add(v.name), weak: !!v.weak })) }));
  const verdefNames = spec.verdef !== undefined ? [spec.soname ?? 'base', ...spec.verdef] : [];
  const verdef = verdefNames.map((n) => ({ name: n, off: dynstr.add(n) }));
  const strBytes = dynstr.bytes();

  const shstr = new StrTab();
  const phnum = 1 + (spec.interpreter !== undefined ? 1 : 0) + (spec.noDynamic ? 0 : 1);

  let off = ehsize;
  const phoff = off;
  off += phnum * phentsize;
  let interpOff: number | undefined;
  if (spec.interpreter !== undefined) {
    interpOff = off;
    off += spec.interpreter.length + 1;
  }
  const dynstrOff = off;
  off += strBytes.length;
  let verneedOff: number | undefined;
  let verneedSize = 0;
  if (verneed.length > 0) {
    off = align(off, 4);
    verneedOff = off;
    for (const n of verneed) verneedSize += 16 + 16 * n.versions.length;
    off += verneedSize;
  }
  let verdefOff: number | undefined;
  if (verdef.length > 0) {
    off = align(off, 4);
    verdefOff = off;
    off += verdef.length * 28;
  }

  const dyn: Array<[number, number]> = [];
  for (const n of needed) dyn.push([1, n]);
  if (soname !== undefined) dyn.push([14, soname]);
  if (rpath !== undefined) dyn.push([15, rpath]);
  if (runpath !== undefined) dyn.push([29, runpath]);
  dyn.push([5, BASE_VADDR + dynstrOff]);
  dyn.push([10, strBytes.length]);
  if (spec.flags1 !== undefined) dyn.push([0x6ffffffb, spec.flags1]);
  if (verneedOff !== undefined) dyn.push([0x6ffffffe, BASE_VADDR + verneedOff], [0x6fffffff, verneed.length]);
  if (verdefOff !== undefined) dyn.push([0x6ffffffc, BASE_VADDR + verdefOff], [0x6ffffffd, verdef.length]);
  dyn.push([0, 0]);

  let dynamicOff: number | undefined;
  let dynamicSize: number | undefined;
  if (!spec.noDynamic) {
    off = align(off, 8);
    dynamicOff = off;
    dynamicSize = dyn.length * dynent;
    off += dynamicSize;
  }

  // Section headers: null, .interp, .dynstr, .gnu.version_r, .gnu.version_d, .dynamic, .shstrtab.
  interface Sec {
    name: number;
    type: number;
    flags: number;
    addr: number;
    offset: number;
    size: number;
    link: number;
    info: number;
    align: number;
    entsize: number;
  }
  const secs: Sec[] = [];
  let shstrOff = 0;
  let shstrBytes: Buffer = Buffer.alloc(0);
  let shoff = 0;
  if (!spec.noSections) {
    const A = 2; // SHF_ALLOC
    secs.push({ name: 0, type: 0, flags: 0, addr: 0, offset: 0, size: 0, link: 0, info: 0, align: 0, entsize: 0 });
    if (interpOff !== undefined) secs.push({ name: shstr.add('.interp'), type: SHT_PROGBITS, flags: A, addr: BASE_VADDR + interpOff, offset: interpOff, size: spec.interpreter!.length + 1, link: 0, info: 0, align: 1, entsize: 0 });
    const dynstrIdx = secs.length;
    secs.push({ name: shstr.add('.dynstr'), type: SHT_STRTAB, flags: A, addr: BASE_VADDR + dynstrOff, offset: dynstrOff, size: strBytes.length, link: 0, info: 0, align: 1, entsize: 0 });
    if (verneedOff !== undefined) secs.push({ name: shstr.add('.gnu.version_r'), type: SHT_GNU_VERNEED, flags: A, addr: BASE_VADDR + verneedOff, offset: verneedOff, size: verneedSize, link: dynstrIdx, info: verneed.length, align: 4, entsize: 0 });
    if (verdefOff !== undefined) secs.push({ name: shstr.add('.gnu.version_d'), type: SHT_GNU_VERDEF, flags: A, addr: BASE_VADDR + verdefOff, offset: verdefOff, size: verdef.length * 28, link: dynstrIdx, info: verdef.length, align: 4, entsize: 0 });
    if (dynamicOff !== undefined) secs.push({ name: shstr.add('.dynamic'), type: SHT_DYNAMIC, flags: A | 1, addr: BASE_VADDR + dynamicOff, offset: dynamicOff, size: dynamicSize!, link: dynstrIdx, info: 0, align: 8, entsize: dynent });
    const shstrName = shstr.add('.shstrtab');
    shstrBytes = shstr.bytes();
    shstrOff = off;
    off += shstrBytes.length;
    secs.push({ name: shstrName, type: SHT_STRTAB, flags: 0, addr: 0, offset: shstrOff, size: shstrBytes.length, link: 0, info: 0, align: 1, entsize: 0 });
    off = align(off, 8);
    shoff = off;
    off += secs.length * shentsize;
  }
  const total = off;

  const w = new Writer(Buffer.alloc(total), le, is64);
  // ELF identification and header.
  w.buf.write('\x7fELF', 0, 'latin1');
  w.u8(4, is64 ? 2 : 1);
  w.u8(5, le ? 1 : 2);
  w.u8(6, 1);
  w.u8(7, spec.osabi ?? 0);
  w.u16(16, spec.type ?? 3);
  w.u16(18, spec.machine);
  w.u32(20, 1);
  w.word(24, 0); // e_entry
  w.word(is64 ? 32 : 28, phoff);
  w.word(is64 ? 40 : 32, shoff);
  w.u32(is64 ? 48 : 36, 0);
  w.u16(is64 ? 52 : 40, ehsize);
  w.u16(is64 ? 54 : 42, phentsize);
  w.u16(is64 ? 56 : 44, phnum);
  w.u16(is64 ? 58 : 46, secs.length > 0 ? shentsize : 0);
  w.u16(is64 ? 60 : 48, secs.length);
  w.u16(is64 ? 62 : 50, secs.length > 0 ? secs.length - 1 : 0);

  // Program headers.
  let p = phoff;
  const phdr = (type: number, flags: number, offset: number, size: number, alignTo: number) => {
    w.u32(p, type);
    if (is64) {
      w.u32(p + 4, flags);
      w.u64(p + 8, offset);
      w.u64(p + 16, BASE_VADDR + offset);
      w.u64(p + 24, BASE_VADDR + offset);
      w.u64(p + 32, size);
      w.u64(p + 40, size);
      w.u64(p + 48, alignTo);
    } else {
      w.u32(p + 4, offset);
      w.u32(p + 8, BASE_VADDR + offset);
      w.u32(p + 12, BASE_VADDR + offset);
      w.u32(p + 16, size);
      w.u32(p + 20, size);
      w.u32(p + 24, flags);
      w.u32(p + 28, alignTo);
    }
    p += phentsize;
  };
  if (interpOff !== undefined) phdr(PT_INTERP, 4, interpOff, spec.interpreter!.length + 1, 1);
  phdr(PT_LOAD, 6, 0, total, 0x1000);
  if (dynamicOff !== undefined) phdr(PT_DYNAMIC, 6, dynamicOff, dynamicSize!, 8);

  if (interpOff !== undefined) w.buf.write(`${spec.interpreter}\0`, interpOff, 'latin1');
  strBytes.copy(w.buf, dynstrOff);

  if (verneedOff !== undefined) {
    let o = verneedOff;
    verneed.forEach((n, i) => {
      w.u16(o, 1); // vn_version
      w.u16(o + 2, n.versions.length);
      w.u32(o + 4, n.file);
      w.u32(o + 8, 16); // vn_aux
      w.u32(o + 12, i === verneed.length - 1 ? 0 : 16 + 16 * n.versions.length);
      let a = o + 16;
      n.versions.forEach((v, j) => {
        w.u32(a, elfHash(v.name));
        w.u16(a + 4, v.weak ? 2 : 0);
        w.u16(a + 6, 100 + i * 16 + j); // vna_other: the version index
        w.u32(a + 8, v.off);
        w.u32(a + 12, j === n.versions.length - 1 ? 0 : 16);
        a += 16;
      });
      o = a;
    });
  }
  if (verdefOff !== undefined) {
    let o = verdefOff;
    verdef.forEach((d, i) => {
      w.u16(o, 1); // vd_version
      w.u16(o + 2, i === 0 ? 1 : 0); // VER_FLG_BASE on the first
      w.u16(o + 4, i + 1); // vd_ndx
      w.u16(o + 6, 1); // vd_cnt
      w.u32(o + 8, elfHash(d.name));
      w.u32(o + 12, 20); // vd_aux
      w.u32(o + 16, i === verdef.length - 1 ? 0 : 28);
      w.u32(o + 20, d.off); // vda_name
      w.u32(o + 24, 0); // vda_next
      o += 28;
    });
  }
  if (dynamicOff !== undefined) {
    dyn.forEach(([tag, val], i) => {
      const o = dynamicOff! + i * dynent;
      w.sword(o, tag);
      w.word(o + dynent / 2, val);
    });
  }
  if (!spec.noSections) {
    shstrBytes.copy(w.buf, shstrOff);
    secs.forEach((s, i) => {
      const o = shoff + i * shentsize;
      w.u32(o, s.name);
      w.u32(o + 4, s.type);
      if (is64) {
        w.u64(o + 8, s.flags);
        w.u64(o + 16, s.addr);
        w.u64(o + 24, s.offset);
        w.u64(o + 32, s.size);
        w.u32(o + 40, s.link);
        w.u32(o + 44, s.info);
        w.u64(o + 48, s.align);
        w.u64(o + 56, s.entsize);
      } else {
        w.u32(o + 8, s.flags);
        w.u32(o + 12, s.addr);
        w.u32(o + 16, s.offset);
        w.u32(o + 20, s.size);
        w.u32(o + 24, s.link);
        w.u32(o + 28, s.info);
        w.u32(o + 32, s.align);
        w.u32(o + 36, s.entsize);
      }
    });
  }
  return {
    buf: w.buf,
    layout: { phoff, phnum, interpOff, dynstrOff, dynstrSize: strBytes.length, verneedOff, verdefOff, dynamicOff, dynamicSize },
  };
}
