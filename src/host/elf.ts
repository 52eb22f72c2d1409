import { FileReader, FormatError } from './file-reader.js';
import { RefListWriter, refsOfList } from './ref-list.js';
import { hashCString, hashString, TableBuilder } from './symbol-table.js';

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
  /** The dynamic symbol table, only when asked for (`readElf(path, { symbols: … })`). */
  symbols?: DynamicSymbols;
}

export const DF_1_NODEFLIB = 0x800;
/** A position-independent executable: the loader refuses to load it as a library. */
export const DF_1_PIE = 0x08000000;

export type SymbolKind = 'func' | 'data' | 'tls';

/** An undefined dynamic symbol: something the loader must bind in another object. */
export interface SymbolRef {
  name: string;
  /** The version the reference asks for (from `.gnu.version` + `.gnu.version_r`). */
  version?: string;
  /** STT_FUNC/STT_GNU_IFUNC are functions (bound at first call under lazy binding); TLS and the rest bind at start. */
  kind: SymbolKind;
  /** STB_WEAK: an unresolved weak reference is not an error. */
  weak: boolean;
}

/** The undefined references as the spec lists them (ref-list.ts): strong ones by kind, weak ones apart. */
export interface RefLists {
  functions?: string;
  data?: string;
  tls?: string;
  weak?: string;
}

export interface DynamicSymbols {
  /** DT_BIND_NOW, DF_BIND_NOW in DT_FLAGS or DF_1_NOW in DT_FLAGS_1: every reference binds at start. */
  bindNow: boolean;
  /** Has `.gnu.version` (DT_VERSYM); without it `check_match` accepts any version from this object. */
  hasVersym: boolean;
  /** Undefined references, and (in executables) data copied in by a copy relocation, written straight from the string table. */
  lists: RefLists;
  /** The same references, one object each (decoded from `lists` when first asked for). */
  readonly refs: SymbolRef[];
  /** Defined symbols in the compact form of symbol-table.ts. */
  defs: Uint32Array;
}

const KINDS: readonly SymbolKind[] = ['func', 'data', 'tls'];
const GROUPS = ['functions', 'data', 'tls', 'weak'] as const;
const WEAK_GROUP = 3;

class ReadSymbols implements DynamicSymbols {
  private decoded: SymbolRef[] | undefined;
  constructor(
    readonly bindNow: boolean,
    readonly hasVersym: boolean,
    readonly lists: RefLists,
    readonly defs: Uint32Array,
    /** The kind of each weak reference, in list order (the spec does not keep it). */
    private readonly weakKinds: Uint8Array,
  ) {}

  get refs(): SymbolRef[] {
    if (!this.decoded) {
      const out: SymbolRef[] = [];
      GROUPS.forEach((g, group) => {
        const list = this.lists[g];
        if (!list) return;
        refsOfList(list).forEach((r, i) => out.push({ ...r, kind: KINDS[group === WEAK_GROUP ? this.weakKinds[i]! : group]!, weak: group === WEAK_GROUP }));
      });
      this.decoded = out;
    }
    return this.decoded;
  }
}

export interface ReadOptions {
  /**
   * Also read the dynamic symbol table: `defs` only (no names decoded), `refs` only (no table
   * built), `all`, or `auto`: `all` for a shared library (ET_DYN without PT_INTERP), else `refs`.
   */
  symbols?: 'defs' | 'refs' | 'all' | 'auto';
}

export const DF_1_NOW = 0x1;
export const DF_BIND_NOW = 0x8;
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
  HASH: 4,
  SYMTAB: 6,
  SYMENT: 11,
  BIND_NOW: 24,
  FLAGS: 30,
  GNU_HASH: 0x6ffffef5,
  RELA: 7,
  RELASZ: 8,
  RELAENT: 9,
  REL: 17,
  RELSZ: 18,
  RELENT: 19,
  RELACOUNT: 0x6ffffff9,
  RELCOUNT: 0x6ffffffa,
  VERSYM: 0x6ffffff0,
} as const;

/** Caps that keep a corrupt header from driving unbounded work. */
const MAX_PHDRS = 4096;
const MAX_DYN_ENTRIES = 65536;
const MAX_VER_ENTRIES = 65536;
const MAX_STRING = 64 * 1024;
const MAX_SYMBOLS = 4 * 1024 * 1024;

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

/** Name → e_machine, built once: a check asks for every binary of every spec. */
const MACHINE_NUMBERS = new Map(Object.entries(MACHINES).map(([k, v]) => [v, Number(k)]));

export function machineNumber(name: string): number | undefined {
  const known = MACHINE_NUMBERS.get(name);
  if (known !== undefined) return known;
  const m = /^em-(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

const ELF_MAGIC = 0x7f454c46;

/** What a file is, as far as compat cares: an ELF object, an interpreted script, or something else. */
export type FileKind = { kind: 'elf'; elf: ElfInfo } | { kind: 'script'; interpreter: string; argument?: string } | { kind: 'other' };

/** Reads `path` and says what it is; only a file that claims to be ELF and is broken raises an error. */
export function probeFile(path: string, opts: ReadOptions = {}): FileKind {
  return probeFileMode(path, opts).file;
}

/**
 * `probeFile`, with the mode bits of the file it read (one `fstat`, no second look at the path);
 * `known`: an lstat of `path` the caller made already (see FileReader.open).
 */
export function probeFileMode(path: string, opts: ReadOptions = {}, known?: Parameters<typeof FileReader.open>[1]): { file: FileKind; mode: number } {
  const r = FileReader.open(path, known);
  try {
    return { file: probe(r, opts), mode: r.mode };
  } finally {
    r.close();
  }
}

function probe(r: FileReader, opts: ReadOptions): FileKind {
  if (r.size >= 4 && r.bytes(0, 4, 'magic').readUInt32BE(0) === ELF_MAGIC) return { kind: 'elf', elf: parse(r, opts) };
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
}

/** Reads an ELF file's dynamic-linking facts; anything else is a `FormatError`. */
export function readElf(path: string, opts: ReadOptions = {}): ElfInfo {
  const r = FileReader.open(path);
  try {
    return parse(r, opts);
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

function parse(r: FileReader, opts: ReadOptions = {}): ElfInfo {
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
  // 64-bit words as two 32-bit halves: a BigInt per field was a measurable share of gen's time.
  const addr = (b: Buffer, o: number): number => {
    if (!is64) return u32(b, o);
    const hi = le ? b.readUInt32LE(o + 4) : b.readUInt32BE(o);
    // Offsets and addresses past 2^53 cannot be in a real file; treat them as corrupt later.
    if (hi >= 0x200000) return Number.MAX_SAFE_INTEGER;
    return hi * 0x100000000 + (le ? b.readUInt32LE(o) : b.readUInt32BE(o + 4));
  };
  const sword = (b: Buffer, o: number): number => {
    if (!is64) return i32(b, o);
    const hi = le ? b.readInt32LE(o + 4) : b.readInt32BE(o);
    const lo = le ? b.readUInt32LE(o) : b.readUInt32BE(o + 4);
    // Past ±2^53 (hi outside ±2^21) is out of range, as before.
    return hi >= 0x200000 || hi < -0x200000 || (hi === -0x200000 && lo === 0) ? -1 : hi * 0x100000000 + lo;
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
  // Tags and values side by side, walked by index: gen reads hundreds of objects in a process
  // too short-lived for pairs and iterators to be compiled away.
  const tags: number[] = [];
  const vals: number[] = [];
  let stringTags = false;
  for (let i = 0; i < count; i++) {
    const o = i * entsize;
    const tag = sword(dyn, o);
    if (tag === DT.NULL) break;
    tags.push(tag);
    vals.push(addr(dyn, o + entsize / 2));
    if (tag === DT.NEEDED || tag === DT.SONAME || tag === DT.RPATH || tag === DT.RUNPATH || tag === DT.FILTER || tag === DT.AUXILIARY) stringTags = true;
  }
  // The first entry of each tag, looked up a score of times per object.
  const firstOf = new Map<number, number>();
  for (let i = 0; i < tags.length; i++) if (!firstOf.has(tags[i]!)) firstOf.set(tags[i]!, vals[i]!);
  const first = (tag: number) => firstOf.get(tag);

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
  const hasStrings = stringTags || first(DT.VERNEED) !== undefined || first(DT.VERDEF) !== undefined;
  let strtab: Buffer = Buffer.alloc(0);
  if (hasStrings || (opts.symbols && first(DT.SYMTAB) !== undefined && strtabAddr !== undefined && strsz !== undefined)) {
    if (strtabAddr === undefined || strsz === undefined) throw new FormatError(path, 'corrupt', 'dynamic section has no string table (DT_STRTAB/DT_STRSZ)');
    strtab = r.bytes(toOffset(strtabAddr, 'DT_STRTAB'), strsz, 'dynamic string table');
  }
  const str = (off: number, what: string): string => {
    if (off >= strtab.length) throw new FormatError(path, 'corrupt', `${what} string offset ${off} is outside the string table (${strtab.length} bytes)`);
    const end = strtab.indexOf(0, off);
    if (end < 0 || end - off > MAX_STRING) throw new FormatError(path, 'corrupt', `${what} string at ${off} is not terminated`);
    return strtab.toString('latin1', off, end);
  };

  for (let i = 0; i < tags.length; i++) {
    const val = vals[i]!;
    switch (tags[i]) {
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

  // Version slots by index, as `_dl_check_map_versions` fills `l_versions`: needs by `vna_other`, definitions by `vd_ndx`.
  const slots = new Map<number, string>();
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
        const name = str(u32(va, 8), 'Vernaux name');
        need.versions.push({ name, weak: (flags & VER_FLG_WEAK) !== 0 });
        slots.set(u16(va, 6) & 0x7fff, name);
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
      if (cnt > 0) {
        const da = r.bytes(off + aux, 8, 'Verdaux entry');
        const name = str(u32(da, 0), 'Verdaux name');
        if ((flags & VER_FLG_BASE) === 0) info.verdef.push(name);
        slots.set(u16(vd, 4), name);
      }
      if (next === 0) break;
      off += next;
    }
  }
  if (opts.symbols) {
    const flags = first(DT.FLAGS) ?? 0;
    const bindNow = first(DT.BIND_NOW) !== undefined || (flags & DF_BIND_NOW) !== 0 || (info.flags1 & DF_1_NOW) !== 0;
    const symtabAddr = first(DT.SYMTAB);
    const empty: DynamicSymbols = new ReadSymbols(bindNow, first(DT.VERSYM) !== undefined, {}, new Uint32Array(0), new Uint8Array(0));
    if (symtabAddr === undefined || strsz === undefined) info.symbols = empty;
    else {
      const ctx: SymContext = { r, is64, le, u16, u32, toOffset, first, strtab, slots, ehdr: eh, addr, machine, executable: info.interpreter !== undefined || etype === 2 };
      const defs = opts.symbols === 'auto' ? etype === 3 && info.interpreter === undefined : opts.symbols !== 'refs';
      info.symbols = readSymbols(ctx, symtabAddr, bindNow, opts.symbols !== 'defs', defs);
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

interface SymContext {
  r: FileReader;
  is64: boolean;
  le: boolean;
  u16: (b: Buffer, o: number) => number;
  u32: (b: Buffer, o: number) => number;
  addr: (b: Buffer, o: number) => number;
  toOffset: (vaddr: number, what: string) => number;
  first: (tag: number) => number | undefined;
  strtab: Buffer;
  slots: Map<number, string>;
  ehdr: Buffer;
  machine: number;
  /** An executable: its data references may have been turned into copies by R_*_COPY. */
  executable: boolean;
}

const STB_GLOBAL = 1;
const STB_WEAK = 2;
const STB_GNU_UNIQUE = 10;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_COMMON = 5;
const STT_TLS = 6;
const STT_GNU_IFUNC = 10;
/** `ALLOWED_STT` of elf/dl-lookup.c: the types a lookup may bind to. */
const ALLOWED_STT = (1 << 0) | (1 << STT_OBJECT) | (1 << STT_FUNC) | (1 << STT_COMMON) | (1 << STT_TLS) | (1 << STT_GNU_IFUNC);
const SHN_UNDEF = 0;
const SHN_ABS = 0xfff1;
const SHT_DYNSYM = 11;

/**
 * Reads `.dynsym` with `.gnu.version`: the defined symbols into the compact table (hashing names
 * straight from the string table's bytes), and, when asked, the undefined references as the
 * spec's lists, copied from the string table's bytes version by version (no object or string per
 * reference: /usr/bin has ~60,000 of them).
 */
function readSymbols(c: SymContext, symtabAddr: number, bindNow: boolean, wantRefs: boolean, wantDefs: boolean): DynamicSymbols {
  const { r, is64, u32, u16, strtab } = c;
  const path = r.path;
  const entsize = c.first(DT.SYMENT) ?? (is64 ? 24 : 16);
  if (entsize < (is64 ? 24 : 16)) throw new FormatError(path, 'corrupt', `symbol entry size ${entsize} is too small`);
  const symOff = c.toOffset(symtabAddr, 'DT_SYMTAB');
  // Not only the unhashed head of a DT_GNU_HASH table: an undefined symbol with a value (a
  // canonical PLT address) is hashed too, so references need the whole table.
  const count = Math.min(symbolCount(c, symOff, entsize), Math.floor((r.size - symOff) / entsize), MAX_SYMBOLS);
  const syms = r.bytes(symOff, count * entsize, 'dynamic symbol table');
  const versymAddr = c.first(DT.VERSYM);
  const versym = versymAddr === undefined ? undefined : r.bytes(c.toOffset(versymAddr, 'DT_VERSYM'), count * 2, 'symbol versions (.gnu.version)');
  const builder = wantDefs ? new TableBuilder(versym !== undefined, count) : undefined;
  // Version slots as arrays indexed by slot: the loop below runs once per symbol, tens of thousands
  // of times. References group by version name (two slots may name one version of two files).
  const slotHash: Array<number | undefined> = [];
  const slotVid: number[] = [];
  const vidName: string[] = [''];
  const vids = new Map<string, number>();
  for (const [slot, name] of c.slots) {
    if (wantDefs) slotHash[slot] = hashString(name);
    let vid = vids.get(name);
    if (vid === undefined) vids.set(name, (vid = vidName.push(name) - 1));
    slotVid[slot] = vid;
  }
  const refs = new RefCollector(wantRefs ? vidName.length : 0);
  const infoAt = is64 ? 4 : 12;
  const shndxAt = is64 ? 6 : 14;
  /** One symbol; `copy`: a definition that a copy relocation makes a reference. */
  const visit = (i: number, copy: boolean): void => {
    const o = i * entsize;
    const info = syms[o + infoAt]!;
    const bind = info >> 4;
    if (bind !== STB_GLOBAL && bind !== STB_WEAK && bind !== STB_GNU_UNIQUE) return;
    const type = info & 0xf;
    const nameOff = u32(syms, o);
    const shndx = u16(syms, o + shndxAt);
    if (nameOff >= strtab.length) throw new FormatError(path, 'corrupt', `symbol ${i} name offset ${nameOff} is outside the string table`);
    const vs = versym ? u16(versym, i * 2) : 1;
    const slot = vs & 0x7fff;
    const vid = slot >= 2 ? (slotVid[slot] ?? 0) : 0;
    if (shndx === SHN_UNDEF) {
      if (wantRefs && strtab[nameOff] !== 0 && !copy) refs.add(nameOff, bind === STB_WEAK ? WEAK_GROUP : kindCode(type), vid, kindCode(type));
      return;
    }
    // st_value == 0 (and not absolute or TLS) is no definition; two 32-bit reads spare a BigInt.
    const zero = is64 ? u32(syms, o + 8) === 0 && u32(syms, o + 12) === 0 : u32(syms, o + 4) === 0;
    if (((1 << type) & ALLOWED_STT) === 0 || (zero && shndx !== SHN_ABS && type !== STT_TLS)) return;
    if (copy) refs.add(nameOff, bind === STB_WEAK ? WEAK_GROUP : kindCode(type), vid, kindCode(type));
    else if (builder) builder.add(hashCString(strtab, nameOff), slot, slot >= 1 ? slotHash[slot] : undefined, (vs & 0x8000) !== 0);
  };
  if (builder) for (let i = 1; i < count; i++) visit(i, false);
  else if (wantRefs) {
    // References only: st_shndx == SHN_UNDEF is two zero bytes in either byte order, tested inline
    // (node's .dynsym alone has 75,000 entries, nearly all definitions).
    for (let i = 1, o = entsize + shndxAt; i < count; i++, o += entsize) if (syms[o] === 0 && syms[o + 1] === 0) visit(i, false);
  }
  // Data an executable holds by copy relocation must still be found in a library: the lookup for
  // R_*_COPY skips the executable (elf/dl-lookup.c, ELF_RTYPE_CLASS_COPY).
  if (wantRefs && c.executable) for (const i of copyRelocated(c)) if (i >= 1 && i < count) visit(i, true);
  const { lists, weakKinds } = refs.write(strtab, vidName);
  return new ReadSymbols(bindNow, versym !== undefined, lists, builder ? builder.build() : new Uint32Array(0), weakKinds);
}

/**
 * References as (name offset, list, version, kind) in the order found, written out list by list,
 * version by version: a counting sort over the few (list, version) buckets keeps each bucket in
 * `.dynsym` order (a numeric sort of packed keys cost more than the whole read).
 */
class RefCollector {
  private name: Int32Array<ArrayBuffer> = new Int32Array(64);
  private bucket: Int32Array<ArrayBuffer> = new Int32Array(64);
  private kind: Int32Array<ArrayBuffer> = new Int32Array(64);
  private n = 0;
  constructor(private readonly versions: number) {}

  /** `nameOff`: the name's offset in the string table; `kind`: its KINDS index (kept for weak references). */
  add(nameOff: number, group: number, vid: number, kind: number): void {
    if (this.n === this.name.length) {
      this.name = grow(this.name);
      this.bucket = grow(this.bucket);
      this.kind = grow(this.kind);
    }
    this.name[this.n] = nameOff;
    this.kind[this.n] = kind;
    this.bucket[this.n++] = group * this.versions + vid;
  }

  write(strtab: Buffer, vidName: string[]): { lists: RefLists; weakKinds: Uint8Array } {
    const lists: RefLists = {};
    const { n, versions, bucket, name, kind } = this;
    if (n === 0) return { lists, weakKinds: new Uint8Array(0) };
    const buckets = GROUPS.length * versions;
    const start = new Int32Array(buckets + 1);
    for (let k = 0; k < n; k++) start[bucket[k]! + 1]!++;
    for (let b = 0; b < buckets; b++) start[b + 1]! += start[b]!;
    const order = new Int32Array(n);
    for (let k = 0; k < n; k++) order[start[bucket[k]!]!++] = k;
    const writer = new RefListWriter();
    const weakKinds = new Uint8Array(n);
    let nweak = 0;
    let group = -1;
    for (let k = 0; k < n; k++) {
      const at = order[k]!;
      const b = bucket[at]!;
      const g = Math.floor(b / versions);
      if (g !== group) {
        const text = writer.take();
        if (group >= 0 && text !== undefined) lists[GROUPS[group]!] = text;
        group = g;
      }
      const vid = b - g * versions;
      writer.add(strtab, name[at]!, vid > 0 ? vidName[vid] : undefined);
      if (g === WEAK_GROUP) weakKinds[nweak++] = kind[at]!;
    }
    const text = writer.take();
    if (group >= 0 && text !== undefined) lists[GROUPS[group]!] = text;
    return { lists, weakKinds: weakKinds.subarray(0, nweak) };
  }
}

function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(a.length * 2);
  bigger.set(a);
  return bigger;
}

/** R_*_COPY per machine (x86_64, i386, arm, aarch64, ppc, ppc64, s390, riscv). */
const R_COPY: Record<number, number> = { 62: 5, 3: 5, 40: 20, 183: 1024, 20: 19, 21: 19, 22: 4, 243: 4 };
const MAX_RELOCS = 1 << 22;

/** Symbol indices named by the copy relocations of DT_RELA (or DT_REL). */
function copyRelocated(c: SymContext): Set<number> {
  const out = new Set<number>();
  const type = R_COPY[c.machine];
  if (type === undefined) return out;
  const rela = c.first(DT.RELA) !== undefined;
  const at = c.first(rela ? DT.RELA : DT.REL);
  const size = c.first(rela ? DT.RELASZ : DT.RELSZ) ?? 0;
  const ent = c.first(rela ? DT.RELAENT : DT.RELENT) ?? (c.is64 ? (rela ? 24 : 16) : rela ? 12 : 8);
  if (at === undefined || size === 0 || ent < (c.is64 ? 16 : 8)) return out;
  // The relative relocations come first and name no symbol (DT_RELACOUNT says how many).
  const skip = Math.min(c.first(rela ? DT.RELACOUNT : DT.RELCOUNT) ?? 0, Math.floor(size / ent));
  const n = Math.min(Math.floor(size / ent) - skip, MAX_RELOCS);
  const buf = c.r.bytes(c.toOffset(at, rela ? 'DT_RELA' : 'DT_REL') + skip * ent, n * ent, 'dynamic relocations');
  if (c.is64) {
    // r_info: the symbol index in the high 32 bits, the type in the low 32. Found by a native
    // search for the type's four bytes (gdb alone has 33,000 relocations, nearly none a copy),
    // kept only where they sit in an entry's r_info.
    const lo = c.le ? 8 : 12;
    const hi = c.le ? 12 : 8;
    const pattern = Buffer.alloc(4);
    if (c.le) pattern.writeUInt32LE(type);
    else pattern.writeUInt32BE(type);
    for (let pos = buf.indexOf(pattern, lo); pos >= 0; pos = buf.indexOf(pattern, pos + 1)) {
      if ((pos - lo) % ent === 0) out.add(c.u32(buf, pos - lo + hi));
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    const info = c.u32(buf, i * ent + 4);
    if ((info & 0xff) === type) out.add(info >>> 8);
  }
  return out;
}

/** 0 function (STT_FUNC, STT_GNU_IFUNC), 2 TLS, 1 anything else (data): an index into KINDS. */
function kindCode(type: number): number {
  if (type === STT_FUNC || type === STT_GNU_IFUNC) return 0;
  return type === STT_TLS ? 2 : 1;
}

/**
 * How many entries `.dynsym` has: DT_HASH's nchain, else a walk of DT_GNU_HASH (which sorts every
 * hashed symbol after the unhashed ones, so its last chain ends the table; a small one lies in the
 * pages already read) or, for a large one, the section header.
 */
function symbolCount(c: SymContext, symOff: number, entsize: number): number {
  const { r } = c;
  const hash = c.first(DT.HASH);
  if (hash !== undefined) return c.u32(r.bytes(c.toOffset(hash, 'DT_HASH'), 8, 'DT_HASH header'), 4);
  const gnu = c.first(DT.GNU_HASH);
  if (gnu === undefined) return dynsymSectionCount(c, symOff, entsize) ?? 0;
  const off = c.toOffset(gnu, 'DT_GNU_HASH');
  // Thousands of buckets (node has 30,000) cost more to scan than one read of the section headers.
  if (c.u32(r.bytes(off, 4, 'DT_GNU_HASH header'), 0) > 512) {
    const fromSections = dynsymSectionCount(c, symOff, entsize);
    if (fromSections !== undefined) return fromSections;
  }
  return gnuHashCount(c, off);
}

function dynsymSectionCount(c: SymContext, symOff: number, entsize: number): number | undefined {
  const { is64, ehdr } = c;
  const shoff = c.addr(ehdr, is64 ? 40 : 32);
  const shentsize = c.u16(ehdr, is64 ? 58 : 46);
  const shnum = c.u16(ehdr, is64 ? 60 : 48);
  if (shoff === 0 || shnum === 0 || shnum > 65535 || shentsize < (is64 ? 64 : 40) || shoff + shentsize * shnum > c.r.size) return undefined;
  const sh = c.r.bytes(shoff, shentsize * shnum, 'section headers');
  for (let i = 0; i < shnum; i++) {
    const o = i * shentsize;
    if (c.u32(sh, o + 4) !== SHT_DYNSYM) continue;
    const off = c.addr(sh, o + (is64 ? 24 : 16));
    const size = c.addr(sh, o + (is64 ? 32 : 20));
    if (off === symOff) return Math.floor(size / entsize);
  }
  return undefined;
}

/** The highest symbol index any GNU hash chain reaches, plus one (`symoffset` when every bucket is empty). */
function gnuHashCount(c: SymContext, off: number): number {
  const { r } = c;
  const head = r.bytes(off, 16, 'DT_GNU_HASH header');
  const nbuckets = c.u32(head, 0);
  const symoffset = c.u32(head, 4);
  const bloomSize = c.u32(head, 8);
  const word = c.is64 ? 8 : 4;
  if (nbuckets > MAX_SYMBOLS || bloomSize > MAX_SYMBOLS) throw new FormatError(r.path, 'corrupt', 'DT_GNU_HASH sizes are implausible');
  const bucketsOff = off + 16 + bloomSize * word;
  const buckets = r.bytes(bucketsOff, nbuckets * 4, 'DT_GNU_HASH buckets');
  let max = 0;
  for (let i = 0; i < nbuckets; i++) max = Math.max(max, c.u32(buckets, i * 4));
  if (max < symoffset) return symoffset;
  const chains = bucketsOff + nbuckets * 4;
  for (let i = max; i < MAX_SYMBOLS; i++) {
    if (c.u32(r.bytes(chains + (i - symoffset) * 4, 4, 'DT_GNU_HASH chain'), 0) & 1) return i + 1;
  }
  throw new FormatError(r.path, 'corrupt', 'DT_GNU_HASH chain does not terminate');
}
