import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readElf, type SymbolRef } from '../../src/host/elf.js';
import { hashString, HIDDEN, lookup, withVersion } from '../../src/host/symbol-table.js';
import { gcc, tempDir, writeTree } from '../helpers/fixtures.js';
import { dynamicElfSample } from '../helpers/elf-sample.js';

interface ReadelfSym {
  type: string;
  bind: string;
  ndx: string;
  name: string;
  version?: string;
  hidden: boolean;
  value: bigint;
}

/** `readelf --dyn-syms -W`: the oracle for the dynamic symbol table. */
function readelfSyms(file: string): ReadelfSym[] {
  const out = execFileSync('readelf', ['--dyn-syms', '-W', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const syms: ReadelfSym[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*\d+: ([0-9a-f]+)\s+\S+ (\S+)\s+(\S+)\s+\S+\s+(\S+) (\S+?)(?:(@@?)([^\s@]+))?( \(\d+\))?$/.exec(line);
    if (!m) continue;
    syms.push({ value: BigInt(`0x${m[1]}`), type: m[2]!, bind: m[3]!, ndx: m[4]!, name: m[5]!, ...(m[7] ? { version: m[7] } : {}), hidden: m[6] === '@' && m[8] === undefined });
  }
  return syms;
}

const KIND: Record<string, SymbolRef['kind']> = { FUNC: 'func', IFUNC: 'func', TLS: 'tls' };

function expectedRefs(syms: ReadelfSym[]): string[] {
  return syms
    .filter((s) => s.ndx === 'UND' && (s.bind === 'GLOBAL' || s.bind === 'WEAK'))
    .map((s) => `${s.name}@${s.version ?? ''} ${KIND[s.type] ?? 'data'}${s.bind === 'WEAK' ? ' weak' : ''}`)
    .sort();
}

function refsOf(refs: SymbolRef[]): string[] {
  return refs.map((r) => `${r.name}@${r.version ?? ''} ${r.kind}${r.weak ? ' weak' : ''}`).sort();
}

/** Every definition readelf lists must be in the table under name@version, with its hidden bit. */
function expectDefsIn(file: string, syms: ReadelfSym[], table: Uint32Array): void {
  const defs = syms.filter((s) => s.ndx !== 'UND' && ['GLOBAL', 'WEAK', 'UNIQUE'].includes(s.bind) && (s.value !== 0n || s.ndx === 'ABS' || s.type === 'TLS') && ['NOTYPE', 'OBJECT', 'FUNC', 'COMMON', 'TLS', 'IFUNC'].includes(s.type));
  for (const s of defs) {
    const name = hashString(s.name);
    if (s.version) {
      const flags = lookup(table, withVersion(name, hashString(s.version)));
      expect({ file, sym: `${s.name}@${s.version}`, found: flags >= 0 }).toEqual({ file, sym: `${s.name}@${s.version}`, found: true });
      // readelf marks a needed version with `@` too, but adds its index: only a definition's `@` is hidden.
      if (s.hidden) expect(flags & HIDDEN).toBe(HIDDEN);
    } else expect({ file, sym: s.name, flags: lookup(table, name) >= 0 }).toEqual({ file, sym: s.name, flags: true });
  }
}

describe('dynamic symbols agree with readelf --dyn-syms', () => {
  const files = [...dynamicElfSample('/usr/bin', 25), ...dynamicElfSample('/usr/lib/x86_64-linux-gnu', 25), '/lib/x86_64-linux-gnu/libc.so.6'];

  it.each(files)('%s', (file) => {
    const info = readElf(file, { symbols: 'all' });
    const syms = readelfSyms(file);
    const refs = info.symbols!.refs.filter((r) => !syms.some((s) => s.ndx !== 'UND' && s.name === r.name));
    expect(refsOf(refs)).toEqual(expectedRefs(syms));
    expectDefsIn(file, syms, info.symbols!.defs);
    // References alone (what gen reads of an executable) read only the unhashed head under DT_GNU_HASH.
    expect(refsOf(readElf(file, { symbols: 'refs' }).symbols!.refs)).toEqual(refsOf(info.symbols!.refs));
  });

  it('reads nothing of the symbol table unless asked', () => {
    expect(readElf('/usr/bin/xz').symbols).toBeUndefined();
  });
});

describe('bind-now, version slots and the symbol count without DT_HASH or section headers', () => {
  const dir = tempDir();
  writeTree(dir, {
    'lib.c': 'int f(void){return 1;} int g(void){return 2;} int data = 3; __thread int tls;',
    'v.map': 'FOO_1.0 { global: f; g; data; tls; local: *; };',
    'main.c': 'extern int data; extern __thread int tls; int f(void); __attribute__((weak)) int w(void); int main(void){ return f() + data + tls + (w ? w() : 0); }',
  });
  gcc(dir, ['-shared', '-fPIC', '-o', 'libv.so', 'lib.c', '-Wl,-soname,libv.so', '-Wl,--version-script=v.map', '-Wl,--hash-style=gnu']);
  gcc(dir, ['-o', 'lazy', 'main.c', '-L.', '-lv', '-Wl,-z,lazy']);
  gcc(dir, ['-o', 'now', 'main.c', '-L.', '-lv', '-Wl,-z,now']);

  it('tells lazy binding from DF_BIND_NOW / DF_1_NOW', () => {
    expect(readElf(join(dir, 'lazy'), { symbols: 'all' }).symbols!.bindNow).toBe(false);
    expect(readElf(join(dir, 'now'), { symbols: 'all' }).symbols!.bindNow).toBe(true);
  });

  it('names each reference with its version, kind and strength', () => {
    const refs = refsOf(readElf(join(dir, 'lazy'), { symbols: 'all' }).symbols!.refs);
    expect(refs).toEqual(expect.arrayContaining(['f@FOO_1.0 func', 'tls@FOO_1.0 tls', 'w@ data weak']));
    expect(refs.some((r) => r.startsWith('data@FOO_1.0 data'))).toBe(true);
  });

  it('counts .dynsym by walking DT_GNU_HASH when there are no section headers', () => {
    const lib = join(dir, 'libv.so');
    const bytes = readFileSync(lib);
    // Zero e_shoff, e_shnum and e_shstrndx: the loader never reads section headers, nor must we.
    bytes.writeBigUInt64LE(0n, 40);
    bytes.writeUInt16LE(0, 60);
    bytes.writeUInt16LE(0, 62);
    const stripped = join(dir, 'libv-noshdr.so');
    writeFileSync(stripped, bytes);
    const a = readElf(lib, { symbols: 'all' }).symbols!;
    const b = readElf(stripped, { symbols: 'all' }).symbols!;
    expect(b.defs).toEqual(a.defs);
    expect(b.defs.length).toBeGreaterThan(4);
    expectDefsIn(lib, readelfSyms(lib), b.defs);
  });
});

describe('the host index keeps each library\'s definitions in a table file, read per library', () => {
  it('saves, reloads lazily, replaces old table files, and falls back to the library when they are gone', async () => {
    const { definedSymbols, loadOrScan, saveIndex, scanHost } = await import('../../src/host/host-index.js');
    const { existsSync, readdirSync: ls, rmSync } = await import('node:fs');
    const dir = tempDir();
    const file = join(dir, 'host-index.json');
    saveIndex(scanHost({}), file);
    saveIndex(scanHost({}), file);
    const tables = ls(dir).filter((n) => n.endsWith('.symbols'));
    expect(tables).toHaveLength(1);
    const { index, how } = loadOrScan({ indexFile: file });
    expect(how).toBe('loaded');
    const libc = Object.keys(index.objects).find((k) => index.objects[k]!.soname === 'libc.so.6')!;
    const want = readElf(libc, { symbols: 'defs' }).symbols!.defs;
    expect(definedSymbols(index, libc)).toEqual({ table: want, unversioned: false });
    expect(lookup(want, withVersion(hashString('memcpy'), hashString('GLIBC_2.14')))).toBe(0);
    expect(lookup(want, withVersion(hashString('memcpy'), hashString('GLIBC_2.2.5')))).toBe(HIDDEN);
    rmSync(join(dir, tables[0]!));
    const again = loadOrScan({ indexFile: file }).index;
    expect(existsSync(index.symbols!.file)).toBe(false);
    expect(definedSymbols(again, libc)).toEqual({ table: want, unversioned: false });
  });
});
