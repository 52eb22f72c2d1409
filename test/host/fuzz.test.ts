/**
 * Property-based robustness tests: the ELF and ld.so.cache readers face files a user hands us,
 * so whatever the bytes, they must either answer or throw a FormatError — never a RangeError
 * from a Buffer read, never a TypeError, never a hang.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { probeFile, readElf, type ElfInfo } from '../../src/host/elf.js';
import { FormatError, type FormatErrorKind } from '../../src/host/file-reader.js';
import { parseLdCache, type LdCache } from '../../src/host/ldcache.js';
import { gcc, tempDir } from '../helpers/fixtures.js';
import { craftElf } from './elf-builder.js';
import { buildLdCache, type CacheSpec } from './ldcache-builder.js';

const KINDS: FormatErrorKind[] = ['not-found', 'unreadable', 'is-directory', 'not-elf', 'truncated', 'corrupt'];
/** COMPAT_FUZZ_SCALE=10 runs ten times the cases, for a deeper search than the suite's ~5 s budget. */
const SCALE = Math.max(1, Number(process.env.COMPAT_FUZZ_SCALE ?? 1) || 1);
/** A single parse of a file of at most a few hundred KiB taking longer than this is a near-hang. */
const SLOW_MS = 1500;

interface Region {
  name: string;
  start: number;
  end: number;
}

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'field'; at: number; width: 1 | 2 | 4 | 8; value: bigint; le: boolean }
  | { kind: 'truncate'; len: number };

const EXTREMES: bigint[] = [0n, 1n, 2n, 0x7fn, 0xffn, 0x7fffn, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 1n << 53n, (1n << 53n) + 1n, 1n << 62n, 1n << 63n, (1n << 64n) - 1n];

function applyMutations(base: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(base);
  for (const m of ms) {
    if (m.kind === 'truncate') {
      b = b.subarray(0, Math.min(m.len, b.length));
    } else if (m.kind === 'flip') {
      if (m.at < b.length) b[m.at] = b[m.at]! ^ m.xor;
    } else if (m.at + m.width <= b.length) {
      const v = m.value & ((1n << BigInt(m.width * 8)) - 1n);
      if (m.width === 1) b[m.at] = Number(v);
      else if (m.width === 2) m.le ? b.writeUInt16LE(Number(v), m.at) : b.writeUInt16BE(Number(v), m.at);
      else if (m.width === 4) m.le ? b.writeUInt32LE(Number(v), m.at) : b.writeUInt32BE(Number(v), m.at);
      else m.le ? b.writeBigUInt64LE(v, m.at) : b.writeBigUInt64BE(v, m.at);
    }
  }
  return b;
}

/** Mutations aimed at `regions` (the structures the reader walks) or anywhere in a `size`-byte file. */
function mutationArb(size: number, regions: Region[], le: boolean): fc.Arbitrary<Mutation> {
  const whole: Region = { name: 'anywhere', start: 0, end: size };
  const targets = [whole, ...regions.filter((r) => r.end > r.start && r.start < size)];
  const offsetIn = fc.constantFrom(...targets).chain((r) => fc.integer({ min: r.start, max: Math.min(r.end, size) - 1 }).map((at) => ({ r, at })));
  const value = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...EXTREMES, BigInt(size), BigInt(size - 1)) }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) });
  const flip = fc.record({ t: offsetIn, xor: fc.integer({ min: 1, max: 255 }) }).map(({ t, xor }): Mutation => ({ kind: 'flip', at: t.at, xor }));
  const field = fc
    .record({ t: offsetIn, width: fc.constantFrom(1, 2, 4, 8, 4, 8) as fc.Arbitrary<1 | 2 | 4 | 8>, value, sameEndian: fc.boolean() })
    // Align to the field width relative to the region start, as real header fields are.
    .map(({ t, width, value: v, sameEndian }): Mutation => ({ kind: 'field', at: t.r.start + Math.floor((t.at - t.r.start) / width) * width, width, value: v, le: sameEndian ? le : !le }));
  const truncate = fc
    .oneof(fc.integer({ min: 0, max: size }), offsetIn.map((t) => t.at))
    .map((len): Mutation => ({ kind: 'truncate', len }));
  return fc.oneof({ weight: 4, arbitrary: flip }, { weight: 4, arbitrary: field }, { weight: 1, arbitrary: truncate });
}

function isStringArray(v: unknown): boolean {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/** An answer must be a well-formed ElfInfo, whatever nonsense it holds. */
function expectElfShape(info: ElfInfo, path: string): void {
  expect(info.path).toBe(path);
  expect([32, 64]).toContain(info.class);
  expect(['little', 'big']).toContain(info.endian);
  expect(['rel', 'exec', 'dyn', 'core', 'other']).toContain(info.type);
  expect(Number.isInteger(info.machine)).toBe(true);
  expect(typeof info.dynamic).toBe('boolean');
  expect(Number.isFinite(info.flags1)).toBe(true);
  expect(isStringArray(info.needed)).toBe(true);
  expect(info.interpreter === undefined || typeof info.interpreter === 'string').toBe(true);
  expect(info.soname === undefined || typeof info.soname === 'string').toBe(true);
  expect(info.rpath === undefined || isStringArray(info.rpath)).toBe(true);
  expect(info.runpath === undefined || isStringArray(info.runpath)).toBe(true);
  expect(isStringArray(info.verdef)).toBe(true);
  for (const n of info.verneed) {
    expect(typeof n.file).toBe('string');
    for (const v of n.versions) {
      expect(typeof v.name).toBe('string');
      expect(typeof v.weak).toBe('boolean');
    }
  }
}

/** Runs `fn`; it must return, or throw a FormatError about `path`. Anything else fails, with the input named. */
function outcome<T>(fn: () => T, path: string, describeInput: () => string): { value: T } | { error: FormatError } {
  const t0 = performance.now();
  let result: { value: T } | { error: FormatError };
  try {
    result = { value: fn() };
  } catch (e) {
    if (!(e instanceof FormatError)) {
      const err = e as Error;
      throw new Error(`non-FormatError escaped (${err?.name}: ${err?.message}) for ${describeInput()}\n${err?.stack ?? ''}`);
    }
    expect(KINDS).toContain(e.kind);
    expect(e.file).toBe(path);
    expect(e.message.startsWith(`${path}: `)).toBe(true);
    result = { error: e };
  }
  const ms = performance.now() - t0;
  if (ms > SLOW_MS) throw new Error(`took ${ms.toFixed(0)} ms for ${describeInput()}`);
  return result;
}

const show = (ms: Mutation[]) => JSON.stringify(ms, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}n` : v));

// ---------------------------------------------------------------------------------------------

interface ElfBase {
  name: string;
  buf: Buffer;
  le: boolean;
  regions: Region[];
  baseline: ElfInfo;
}

/** The header, program headers and the dynamic-linking sections, located by readelf. */
function elfRegions(path: string, size: number): Region[] {
  const h = execFileSync('readelf', ['-h', '-S', '-W', path], { encoding: 'utf8' });
  const num = (re: RegExp) => Number(re.exec(h)?.[1] ?? 0);
  const phoff = num(/Start of program headers:\s+(\d+)/);
  const phsz = num(/Size of program headers:\s+(\d+)/);
  const phnum = num(/Number of program headers:\s+(\d+)/);
  const regions: Region[] = [
    { name: 'ELF header', start: 0, end: Math.min(64, size) },
    { name: 'program headers', start: phoff, end: phoff + phsz * phnum },
  ];
  for (const m of h.matchAll(/^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/gm)) {
    if (['.interp', '.dynamic', '.dynstr', '.gnu.version_r', '.gnu.version_d'].includes(m[1]!)) {
      const start = parseInt(m[2]!, 16);
      regions.push({ name: m[1]!, start, end: start + parseInt(m[3]!, 16) });
    }
  }
  return regions;
}

describe('readElf on mutated ELF files answers or throws FormatError', () => {
  let dir: string;
  const bases: ElfBase[] = [];

  beforeAll(() => {
    dir = tempDir('compat-fuzz-elf-');
    // A gcc-built binary with a version need on a library of our own and a runpath.
    writeFileSync(join(dir, 'foo.c'), 'int foo1(void) { return 1; }\nint foo2(void) { return 2; }\n');
    writeFileSync(join(dir, 'foo.map'), 'FOO_1.0 { global: foo1; local: *; };\nFOO_2.0 { global: foo2; } FOO_1.0;\n');
    writeFileSync(join(dir, 'usefoo.c'), 'int foo2(void);\nint main(void) { return foo2() - 2; }\n');
    mkdirSync(join(dir, 'lib'));
    gcc(dir, ['-shared', '-fPIC', '-Wl,-soname,libfoo.so.1', '-Wl,--version-script=foo.map', '-o', 'lib/libfoo.so.1', 'foo.c']);
    symlinkSync('libfoo.so.1', join(dir, 'lib/libfoo.so'));
    gcc(dir, ['-o', 'usefoo', 'usefoo.c', '-Llib', '-lfoo', '-Wl,-rpath,$ORIGIN/lib']);

    const full = {
      interpreter: '/lib/ld.so.1',
      needed: ['libc.so.6', 'libm.so.6'],
      soname: 'libcraft.so.3',
      rpath: '/r1:/r2',
      runpath: '$ORIGIN',
      flags1: 0x800,
      verneed: [{ file: 'libc.so.6', versions: [{ name: 'GLIBC_2.0' }, { name: 'GLIBC_2.1', weak: true }] }],
      verdef: ['CRAFT_1', 'CRAFT_2'],
    };
    writeFileSync(join(dir, 'be32'), craftElf({ class: 32, endian: 'big', machine: 8, ...full }).buf);
    writeFileSync(join(dir, 'be64'), craftElf({ class: 64, endian: 'big', machine: 43, ...full }).buf);

    const sources: Array<[string, string]> = [
      ['/bin/true', realpathSync('/bin/true')],
      ['libz.so.1', realpathSync('/usr/lib/x86_64-linux-gnu/libz.so.1')],
      ['gcc usefoo', join(dir, 'usefoo')],
      ['crafted ELF32 big-endian', join(dir, 'be32')],
      ['crafted ELF64 big-endian', join(dir, 'be64')],
    ];
    for (const [name, path] of sources) {
      const buf = readFileSync(path);
      bases.push({ name, buf, le: buf[5] === 1, regions: elfRegions(path, buf.length), baseline: readElf(path) });
    }
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the unmutated inputs parse, with the structures the mutations aim at', () => {
    expect(bases).toHaveLength(5);
    for (const b of bases) {
      expect(b.baseline.dynamic).toBe(true);
      expect(b.baseline.needed.length).toBeGreaterThan(0);
      expect(b.baseline.verneed.length).toBeGreaterThan(0);
      expect(b.regions.map((r) => r.name)).toEqual(expect.arrayContaining(['ELF header', 'program headers', '.dynamic', '.dynstr', '.gnu.version_r']));
    }
    expect(bases.some((b) => b.baseline.verdef.length > 0)).toBe(true);
    expect(bases.some((b) => b.baseline.class === 32 && b.baseline.endian === 'big')).toBe(true);
  });

  it('byte flips, extreme field values and truncations: 2000 mutated files', () => {
    const file = join(dir, 'mutated');
    for (const base of bases) {
      fc.assert(
        fc.property(fc.array(mutationArb(base.buf.length, base.regions, base.le), { minLength: 1, maxLength: 6 }), (ms) => {
          writeFileSync(file, applyMutations(base.buf, ms));
          const what = () => `${base.name} with mutations ${show(ms)}`;
          const r = outcome(() => readElf(file), file, what);
          if ('value' in r) expectElfShape(r.value, file);
          const p = outcome(() => probeFile(file), file, what);
          // probeFile parses the same bytes: it agrees with readElf whenever the file is still ELF.
          if ('value' in p && p.value.kind === 'elf') expect(r).toEqual({ value: p.value.elf });
          // The symbol table reader (the loader never trusts .dynsym's neighbours either) answers or throws FormatError too.
          const s = outcome(() => readElf(file, { symbols: 'all' }), file, what);
          if ('value' in s && 'value' in r) expect({ ...s.value, symbols: undefined }).toEqual({ ...r.value, symbols: undefined });
        }),
        { numRuns: 400 * SCALE },
      );
    }
  });

  it('a truncated file gives the whole answer or says truncated: 500 cut points', () => {
    const file = join(dir, 'cut');
    for (const base of bases) {
      // Cut points anywhere, and inside the structures the reader needs.
      const cut = fc.oneof(fc.integer({ min: 0, max: base.buf.length - 1 }), fc.constantFrom(...base.regions).chain((r) => fc.integer({ min: r.start, max: Math.min(r.end, base.buf.length) - 1 })));
      fc.assert(
        fc.property(cut, (len) => {
          writeFileSync(file, base.buf.subarray(0, len));
          const r = outcome(() => readElf(file), file, () => `${base.name} cut to ${len} bytes`);
          if (len < 4) expect(r).toMatchObject({ error: { kind: 'not-elf' } });
          else if ('error' in r) expect(r.error.kind).toBe('truncated');
          // Everything the reader looked at was intact, so the answer is the original one.
          else expect(r.value).toEqual({ ...base.baseline, path: file });
        }),
        { numRuns: 100 * SCALE },
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------

interface CacheBase {
  name: string;
  buf: Buffer;
  regions: Region[];
  baseline?: LdCache;
}

function cacheRegions(buf: Buffer): Region[] {
  const base = buf.toString('latin1', 0, 11) === 'ld.so-1.7.0' ? (((16 + buf.readUInt32LE(12) * 12) + 7) & ~7) : 0;
  const nlibs = buf.readUInt32LE(base + 20);
  const regions: Region[] = [
    { name: 'header', start: base, end: base + 48 },
    { name: 'entries', start: base + 48, end: base + 48 + nlibs * 24 },
  ];
  if (base > 0) regions.push({ name: 'old header', start: 0, end: 16 });
  // The extension directory, wherever either reading of its offset puts it.
  const ext = buf.readUInt32LE(base + 32);
  for (const at of [ext, base + ext]) if (ext !== 0 && at < buf.length) regions.push({ name: 'extension', start: at, end: Math.min(buf.length, at + 8 + 2 * 16 + 16) });
  return regions;
}

describe('parseLdCache on mutated caches answers or throws FormatError', () => {
  const bases: CacheBase[] = [];
  const spec: CacheSpec = {
    generator: 'ldconfig (fuzz) 1.0',
    hwcaps: ['x86-64-v2', 'x86-64-v3', 'x86-64-v4'],
    entries: [
      { flags: 0x303, soname: 'libfoo.so.1', path: '/usr/lib/glibc-hwcaps/x86-64-v3/libfoo.so.1', hwcapsIndex: 1 },
      { flags: 0x303, soname: 'libfoo.so.1', path: '/usr/lib/glibc-hwcaps/x86-64-v2/libfoo.so.1', hwcapsIndex: 0 },
      { flags: 0x303, soname: 'libfoo.so.1', path: '/usr/lib/libfoo.so.1' },
      { flags: 0x003, soname: 'libbar.so.2', path: '/usr/lib32/libbar.so.2' },
      { flags: 0x303, soname: 'libold.so.5', path: '/usr/lib/tls/libold.so.5', hwcap: 1n << 63n },
    ],
  };

  beforeAll(() => {
    const real = readFileSync('/etc/ld.so.cache');
    for (const [name, buf] of [
      ['/etc/ld.so.cache', real],
      ['hand-built, glibc-hwcaps', buildLdCache(spec)],
      ['hand-built, big-endian', buildLdCache({ ...spec, endian: 'big' })],
      ['hand-built, behind an old-format header', buildLdCache({ ...spec, oldEntries: 3 })],
    ] as const) {
      let baseline: LdCache | undefined;
      try {
        baseline = parseLdCache(buf, name);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
      }
      bases.push({ name, buf, regions: cacheRegions(buf), baseline });
    }
  });

  it('the unmutated new-format caches parse', () => {
    expect(bases[0]!.baseline!.entries.length).toBeGreaterThan(100);
    expect(bases[1]!.baseline!.entries.map((e) => e.hwcapsName)).toEqual(['x86-64-v3', 'x86-64-v2', undefined, undefined, undefined]);
    expect(bases[2]!.baseline).toEqual(bases[1]!.baseline);
  });

  it('byte flips, extreme field values and truncations: 2000 mutated buffers', () => {
    const P = 'fuzzed.cache';
    for (const base of bases) {
      fc.assert(
        fc.property(fc.array(mutationArb(base.buf.length, base.regions, base.name !== 'hand-built, big-endian'), { minLength: 1, maxLength: 6 }), (ms) => {
          const r = outcome(() => parseLdCache(applyMutations(base.buf, ms), P), P, () => `${base.name} with mutations ${show(ms)}`);
          if ('value' in r) {
            // Plain checks, one expect: hundreds of entries per run.
            const bad = r.value.entries.filter(
              (e) => typeof e.soname !== 'string' || typeof e.path !== 'string' || !Number.isInteger(e.flags) || typeof e.hwcap !== 'bigint' || (e.hwcapsName !== undefined && typeof e.hwcapsName !== 'string'),
            );
            expect(bad).toEqual([]);
            expect(r.value.generator === undefined || typeof r.value.generator === 'string').toBe(true);
          }
        }),
        { numRuns: 500 * SCALE },
      );
    }
  });

  it('a truncated cache gives the same entries or a FormatError: 600 cut points', () => {
    const P = 'cut.cache';
    for (const base of bases.filter((b) => b.baseline !== undefined)) {
      const cut = fc.oneof(fc.integer({ min: 0, max: base.buf.length - 1 }), fc.constantFrom(...base.regions).chain((r) => fc.integer({ min: r.start, max: Math.min(r.end, base.buf.length) - 1 })));
      fc.assert(
        fc.property(cut, (len) => {
          const r = outcome(() => parseLdCache(base.buf.subarray(0, len), P), P, () => `${base.name} cut to ${len} bytes`);
          if ('value' in r) expect(r.value.entries).toEqual(base.baseline!.entries);
        }),
        { numRuns: 150 * SCALE },
      );
    }
  });
});
