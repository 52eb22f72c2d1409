import { FileReader, FormatError } from './file-reader.js';

export type ElfClass = 32 | 64;
export type Endian = 'little' | 'big';

export interface VersionNeed {
  /** The version name, e.g. `GLIBC_2.34`. */
  name: string;
  /** VER_FLG_WEAK: a missing weak version does not stop the load. */
  weak: boolean;
}

export interface LibraryNeed {
  /** The file named in the Verneed entry: the soname the versions must come from. */
  file: string;
  versions: VersionNeed[];
}

export interface ElfInfo {
  path: string;
  class: ElfClass;
  endian: Endian;
  osabi: number;
  /** EI_ABIVERSION: which ABI revision of `osabi` the object needs (`open_verify` checks it). */
  abiversion?: number;
  /** EI_VERSION and e_version: both must be EV_CURRENT (1) for the loader. */
  identVersion?: number;
  version?: number;
  type: 'rel' | 'exec' | 'dyn' | 'core' | 'other';
  machine: number;
  /** PT_INTERP, when present: the program interpreter (dynamic loader) path. */
  interpreter?: string;
  /** Has a PT_DYNAMIC segment: linked against shared objects (or is one). */
  dynamic: boolean;
  needed: string[];
  soname?: string;
  /** DT_RPATH entries, split on ':' but not yet expanded. */
  rpath?: string[];
  /** DT_RUNPATH entries, split on ':' but not yet expanded. */
  runpath?: string[];
  flags1: number;
  /** DT_FILTER names: a standard filter's filtees, each of which must load. */
  filters?: string[];
  /** DT_AUXILIARY names: optional filtees, ignored when they cannot be loaded. */
  auxiliary?: string[];
  /** Versions this object needs, by library (`.gnu.version_r`). */
  verneed: LibraryNeed[];
  /** Versions this object defines (`.gnu.version_d`), the base (soname) entry excluded. */
  verdef: string[];
  /** x86 only: the `GNU_PROPERTY_X86_ISA_1_NEEDED` bits of its GNU property note, when it has them. */
  x86IsaNeeded?: number;
}

export const DF_1_NODEFLIB = 0x800;
/** A position-independent executable: the loader refuses to load it as a library. */
export const DF_1_PIE = 0x08000000;
export const VER_FLG_BASE = 0x1;
export const VER_FLG_WEAK = 0x2;

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const PT_NOTE = 4;

const NT_GNU_PROPERTY_TYPE_0 = 5;
const GNU_PROPERTY_1_NEEDED = 0xb0008000;
const GNU_PROPERTY_X86_FEATURE_1_AND = 0xc0000002;
export const GNU_PROPERTY_X86_ISA_1_NEEDED = 0xc0008002;
/** A GNU property note is read at most this far (real ones are tens of bytes). */
const MAX_NOTE_BYTES = 64 * 1024;

const DT = {
  NULL: 0,
  NEEDED: 1,
  STRTAB: 5,
  STRSZ: 10,
  SONAME: 14,
  RPATH: 15,
  RUNPATH: 29,
  FLAGS_1: 0x6ffffffb,
  AUXILIARY: 0x7ffffffd,
  FILTER: 0x7fffffff,
  VERDEF: 0x6ffffffc,
  VERDEFNUM: 0x6ffffffd,
  VERNEED: 0x6ffffffe,
  VERNEEDNUM: 0x6fffffff,
} as const;

/** Caps that keep a corrupt header from driving unbounded work. */
const MAX_PHDRS = 4096;
const MAX_DYN_ENTRIES = 65536;
const MAX_VER_ENTRIES = 65536;
const MAX_STRING = 64 * 1024;

const MACHINES: Record<number, string> = {
  2: 'sparc',
  3: 'i386',
  8: 'mips',
  20: 'ppc',
  21: 'ppc64',
  22: 's390',
  40: 'arm',
  42: 'sh',
  43: 'sparcv9',
  50: 'ia64',
  62: 'x86_64',
  183: 'aarch64',
  243: 'riscv',
  258: 'loongarch',
};

export function machineName(machine: number): string {
  return MACHINES[machine] ?? `em-${machine}`;
}

export function machineNumber(name: string): number | undefined {
  for (const [k, v] of Object.entries(MACHINES)) if (v === name) return Number(k);
  const m = /^em-(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

const ELF_MAGIC = 0x7f454c46;

/** What a file is, as far as compat cares: an ELF object, an interpreted script, or something else. */
export type FileKind = { kind: 'elf'; elf: ElfInfo } | { kind: 'script'; interpreter: string; argument?: string } | { kind: 'other' };

/** Reads `path` and says what it is; only a file that claims to be ELF and is broken raises an error. */
export function probeFile(path: string): FileKind {
  const r = FileReader.open(path);
  try {
    if (r.size >= 4 && r.bytes(0, 4, 'magic').readUInt32BE(0) === ELF_MAGIC) return { kind: 'elf', elf: parse(r) };
    if (r.size >= 2) {
      const head = r.bytes(0, Math.min(r.size, 256), 'first line');
      if (head[0] === 0x23 && head[1] === 0x21) {
        const line = head.toString('latin1', 2).split('\n')[0]!.trim();
        // As fs/binfmt_script.c splits it: the interpreter, then the rest of the line as one argument.
        const [, interpreter = '', argument = ''] = /^(\S*)\s*(.*)$/s.exec(line) ?? [];
        return { kind: 'script', interpreter, ...(argument ? { argument } : {}) };
      }
    }
    return { kind: 'other' };
  } finally {
    r.close();
  }
}

/** Reads an ELF file's dynamic-linking facts; anything else is a `FormatError`. */
export function readElf(path: string): ElfInfo {
  const r = FileReader.open(path);
  try {
    return parse(r);
  } finally {
    r.close();
  }
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

function parse(r: FileReader): ElfInfo {
  const path = r.path;
  if (r.size < 16) {
    if (r.size >= 4 && r.bytes(0, 4, 'magic').readUInt32BE(0) === ELF_MAGIC) throw new FormatError(path, 'truncated', 'ELF identification is truncated');
    throw new FormatError(path, 'not-elf', 'not an ELF file');
  }
  const ident = r.bytes(0, 16, 'ELF identification');
  if (ident.readUInt32BE(0) !== ELF_MAGIC) throw new FormatError(path, 'not-elf', 'not an ELF file');
  const cls = ident[4];
  const data = ident[5];
  if (cls !== 1 && cls !== 2) throw new FormatError(path, 'corrupt', `unknown ELF class ${cls}`);
  if (data !== 1 && data !== 2) throw new FormatError(path, 'corrupt', `unknown ELF data encoding ${data}`);
  const is64 = cls === 2;
  const le = data === 1;
  const ehsize = is64 ? 64 : 52;
  const eh = r.bytes(0, ehsize, 'ELF header');

  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const i32 = (b: Buffer, o: number) => (le ? b.readInt32LE(o) : b.readInt32BE(o));
  const addr = (b: Buffer, o: number): number => {
    if (!is64) return u32(b, o);
    const v = le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o);
    // Offsets and addresses past 2^53 cannot be in a real file; treat them as corrupt later.
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  };
  const sword = (b: Buffer, o: number): number => {
    if (!is64) return i32(b, o);
    const v = le ? b.readBigInt64LE(o) : b.readBigInt64BE(o);
    return v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER) ? -1 : Number(v);
  };

  const etype = u16(eh, 16);
  const machine = u16(eh, 18);
  const phoff = addr(eh, is64 ? 32 : 28);
  const phentsize = u16(eh, is64 ? 54 : 42);
  const phnum = u16(eh, is64 ? 56 : 44);
  const wantPhent = is64 ? 56 : 32;

  const segs: Segment[] = [];
  if (phnum > 0) {
    if (phentsize < wantPhent) throw new FormatError(path, 'corrupt', `program header entry size ${phentsize} is smaller than ${wantPhent}`);
    if (phnum > MAX_PHDRS) throw new FormatError(path, 'corrupt', `${phnum} program headers is implausible`);
    const ph = r.bytes(phoff, phentsize * phnum, 'program headers');
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      segs.push(
        is64
          ? { type: u32(ph, o), offset: addr(ph, o + 8), vaddr: addr(ph, o + 16), filesz: addr(ph, o + 32), memsz: addr(ph, o + 40), align: addr(ph, o + 48) }
          : { type: u32(ph, o), offset: u32(ph, o + 4), vaddr: u32(ph, o + 8), filesz: u32(ph, o + 16), memsz: u32(ph, o + 20), align: u32(ph, o + 28) },
      );
    }
  }

  const info: ElfInfo = {
    path,
    class: is64 ? 64 : 32,
    endian: le ? 'little' : 'big',
    osabi: ident[7]!,
    abiversion: ident[8]!,
    identVersion: ident[6]!,
    version: u32(eh, 20),
    type: (['other', 'rel', 'exec', 'dyn', 'core'] as const)[etype <= 4 ? etype : 0]!,
    machine,
    dynamic: false,
    needed: [],
    flags1: 0,
    verneed: [],
    verdef: [],
  };

  const interp = segs.find((s) => s.type === PT_INTERP);
  if (interp) {
    const len = Math.min(interp.filesz, 4096);
    const raw = r.bytes(interp.offset, len, 'PT_INTERP');
    const nul = raw.indexOf(0);
    info.interpreter = raw.toString('latin1', 0, nul < 0 ? raw.length : nul);
  }

  if (machine === 62 || machine === 3) {
    const isa = x86IsaNeeded(r, segs, is64, u32);
    if (isa) info.x86IsaNeeded = isa;
  }

  const dynSeg = segs.find((s) => s.type === PT_DYNAMIC);
  if (!dynSeg) return info;
  info.dynamic = true;

  const entsize = is64 ? 16 : 8;
  const count = Math.min(Math.floor(dynSeg.filesz / entsize), MAX_DYN_ENTRIES);
  const dyn = r.bytes(dynSeg.offset, count * entsize, 'dynamic section');
  const entries: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    const o = i * entsize;
    const tag = sword(dyn, o);
    if (tag === DT.NULL) break;
    entries.push([tag, addr(dyn, o + entsize / 2)]);
  }
  const first = (tag: number) => entries.find(([t]) => t === tag)?.[1];

  const loads = segs.filter((s) => s.type === PT_LOAD);
  /** Dynamic tags hold virtual addresses; the loader finds them through the PT_LOAD mapping. */
  const toOffset = (vaddr: number, what: string): number => {
    for (const s of loads) {
      if (vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) return s.offset + (vaddr - s.vaddr);
    }
    // Some objects (e.g. prelinked, or tests with no PT_LOAD) carry file offsets directly.
    if (loads.length === 0 && vaddr < r.size) return vaddr;
    throw new FormatError(path, 'corrupt', `${what} address 0x${vaddr.toString(16)} is not inside any loaded segment`);
  };

  const strtabAddr = first(DT.STRTAB);
  const strsz = first(DT.STRSZ);
  const hasStrings = entries.some(([t]) => t === DT.NEEDED || t === DT.SONAME || t === DT.RPATH || t === DT.RUNPATH || t === DT.FILTER || t === DT.AUXILIARY) || first(DT.VERNEED) !== undefined || first(DT.VERDEF) !== undefined;
  let strtab: Buffer = Buffer.alloc(0);
  if (hasStrings) {
    if (strtabAddr === undefined || strsz === undefined) throw new FormatError(path, 'corrupt', 'dynamic section has no string table (DT_STRTAB/DT_STRSZ)');
    strtab = r.bytes(toOffset(strtabAddr, 'DT_STRTAB'), strsz, 'dynamic string table');
  }
  const str = (off: number, what: string): string => {
    if (off >= strtab.length) throw new FormatError(path, 'corrupt', `${what} string offset ${off} is outside the string table (${strtab.length} bytes)`);
    const end = strtab.indexOf(0, off);
    if (end < 0 || end - off > MAX_STRING) throw new FormatError(path, 'corrupt', `${what} string at ${off} is not terminated`);
    return strtab.toString('latin1', off, end);
  };

  for (const [tag, val] of entries) {
    switch (tag) {
      case DT.NEEDED:
        info.needed.push(str(val, 'DT_NEEDED'));
        break;
      case DT.SONAME:
        info.soname ??= str(val, 'DT_SONAME');
        break;
      case DT.RPATH:
        info.rpath ??= str(val, 'DT_RPATH').split(':');
        break;
      case DT.RUNPATH:
        info.runpath ??= str(val, 'DT_RUNPATH').split(':');
        break;
      case DT.FLAGS_1:
        info.flags1 = val;
        break;
      case DT.FILTER:
        (info.filters ??= []).push(str(val, 'DT_FILTER'));
        break;
      case DT.AUXILIARY:
        (info.auxiliary ??= []).push(str(val, 'DT_AUXILIARY'));
        break;
    }
  }

  const verneedAddr = first(DT.VERNEED);
  if (verneedAddr !== undefined) {
    let off = toOffset(verneedAddr, 'DT_VERNEED');
    const num = Math.min(first(DT.VERNEEDNUM) ?? MAX_VER_ENTRIES, MAX_VER_ENTRIES);
    let budget = MAX_VER_ENTRIES;
    for (let i = 0; i < num; i++) {
      const vn = r.bytes(off, 16, 'Verneed entry');
      const cnt = u16(vn, 2);
      const file = str(u32(vn, 4), 'Verneed file');
      const auxRel = u32(vn, 8);
      const next = u32(vn, 12);
      const need: LibraryNeed = { file, versions: [] };
      let aoff = off + auxRel;
      for (let j = 0; j < cnt; j++) {
        if (--budget < 0) throw new FormatError(path, 'corrupt', 'version needs do not terminate');
        const va = r.bytes(aoff, 16, 'Vernaux entry');
        const flags = u16(va, 4);
        need.versions.push({ name: str(u32(va, 8), 'Vernaux name'), weak: (flags & VER_FLG_WEAK) !== 0 });
        const anext = u32(va, 12);
        if (anext === 0) break;
        aoff += anext;
      }
      info.verneed.push(need);
      if (next === 0) break;
      off += next;
    }
  }

  const verdefAddr = first(DT.VERDEF);
  if (verdefAddr !== undefined) {
    let off = toOffset(verdefAddr, 'DT_VERDEF');
    const num = Math.min(first(DT.VERDEFNUM) ?? MAX_VER_ENTRIES, MAX_VER_ENTRIES);
    for (let i = 0; i < num; i++) {
      const vd = r.bytes(off, 20, 'Verdef entry');
      const flags = u16(vd, 2);
      const cnt = u16(vd, 6);
      const aux = u32(vd, 12);
      const next = u32(vd, 16);
      if (cnt > 0 && (flags & VER_FLG_BASE) === 0) {
        const da = r.bytes(off + aux, 8, 'Verdaux entry');
        info.verdef.push(str(u32(da, 0), 'Verdaux name'));
      }
      if (next === 0) break;
      off += next;
    }
  }
  return info;
}

/**
 * The ISA level an x86 object asks for, read as the loader reads it (sysdeps/x86/dl-prop.h:
 * `_dl_process_property_note`, reached from `_dl_map_object_from_fd` and `dl_main`): the PT_NOTE
 * segments scanned from the last program header back, only those aligned to the class's word;
 * the first NT_GNU_PROPERTY_TYPE_0 "GNU" note decides, its properties in ascending order. An
 * ill-formed note, or a segment with a second GNU property note (an old linker's), leaves the
 * object without a requirement. x86 reads nothing from PT_GNU_PROPERTY itself.
 */
function x86IsaNeeded(r: FileReader, segs: Segment[], is64: boolean, u32: (b: Buffer, o: number) => number): number {
  const word = is64 ? 8 : 4;
  const align = (n: number, a: number) => Math.ceil(n / a) * a;
  for (let s = segs.length - 1; s >= 0; s--) {
    const seg = segs[s]!;
    if (seg.type !== PT_NOTE || seg.align !== word || seg.filesz < 12) continue;
    const size = Math.min(seg.filesz, MAX_NOTE_BYTES);
    if (seg.offset + size > r.size) continue;
    const buf = r.bytes(seg.offset, size, 'PT_NOTE');
    let seen = false;
    let isa = 0;
    for (let at = 0; at + 12 < size; ) {
      const namesz = u32(buf, at);
      const descsz = u32(buf, at + 4);
      const type = u32(buf, at + 8);
      if (namesz === 4 && type === NT_GNU_PROPERTY_TYPE_0 && at + 16 <= size && buf.toString('latin1', at + 12, at + 16) === 'GNU\0') {
        // A second GNU property note: the loader gives up on the object's properties.
        if (seen) return 0;
        seen = true;
        if (descsz < 8 || descsz % word !== 0) return 0;
        const found = isaProperty(buf, at + 16, Math.min(at + 16 + descsz, size), word, u32);
        if (found === undefined) return 0;
        isa = found;
      }
      at += align(align(12 + namesz, word) + descsz, word);
    }
    // The first segment holding a GNU property note decides, whatever it says.
    if (seen) return isa;
  }
  return 0;
}

/** `GNU_PROPERTY_X86_ISA_1_NEEDED` of one note's properties (0 when absent), or undefined when ill-formed. */
function isaProperty(buf: Buffer, start: number, end: number, word: number, u32: (b: Buffer, o: number) => number): number | undefined {
  let last = 0;
  for (let p = start; end - p >= 8; ) {
    const type = u32(buf, p);
    const datasz = u32(buf, p + 4);
    if (type < last) return undefined;
    p += 8;
    if (p + datasz > end) return undefined;
    last = type;
    if (type === GNU_PROPERTY_X86_FEATURE_1_AND || type === GNU_PROPERTY_X86_ISA_1_NEEDED || type === GNU_PROPERTY_1_NEEDED) {
      if (datasz !== 4) return undefined;
      if (type === GNU_PROPERTY_X86_ISA_1_NEEDED) return u32(buf, p);
    } else if (type > GNU_PROPERTY_X86_ISA_1_NEEDED) break;
    p += Math.ceil(datasz / word) * word;
  }
  return 0;
}
