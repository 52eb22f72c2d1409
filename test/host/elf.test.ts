import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DF_1_NODEFLIB, probeFile, readElf, type ElfInfo } from '../../src/host/elf.js';
import type { FormatErrorKind } from '../../src/host/file-reader.js';
import { expectFormatError } from './format-error.js';
import { gcc, runBinary, tempDir } from '../helpers/fixtures.js';
import { craftElf, type CraftSpec } from './elf-builder.js';
import { hasElfMagic, readelfFacts, type ReadelfFacts } from './readelf-oracle.js';

/** The part of ElfInfo readelf can vouch for, keyed like the oracle. */
function project(info: ElfInfo, withMachine: boolean): ReadelfFacts {
  const p: ReadelfFacts = {
    class: info.class,
    endian: info.endian,
    type: info.type,
    dynamic: info.dynamic,
    needed: info.needed,
    flags1: info.flags1,
    verneed: info.verneed,
    verdef: info.verdef,
  };
  if (withMachine) p.machine = info.machine;
  if (info.interpreter !== undefined) p.interpreter = info.interpreter;
  if (info.soname !== undefined) p.soname = info.soname;
  if (info.rpath !== undefined) p.rpath = info.rpath;
  if (info.runpath !== undefined) p.runpath = info.runpath;
  return p;
}

function expectMatchesReadelf(path: string): ElfInfo {
  const info = readElf(path);
  const facts = readelfFacts(path);
  expect(project(info, facts.machine !== undefined)).toEqual(facts);
  expect(info.path).toBe(path);
  return info;
}


/** Every k-th ELF file of `dir` (regular files, symlinks resolved and deduplicated), in name order. */
function sample(dir: string, count: number, seen: Set<string>): string[] {
  const all = readdirSync(dir)
    .sort()
    .map((f) => join(dir, f))
    .filter((p) => {
      try {
        return statSync(p).isFile() && hasElfMagic(p);
      } catch {
        return false;
      }
    });
  const step = Math.max(1, Math.floor(all.length / count));
  const out: string[] = [];
  for (let i = 0; i < all.length && out.length < count; i += step) {
    const real = realpathSync(all[i]!);
    if (seen.has(real)) continue;
    seen.add(real);
    out.push(all[i]!);
  }
  return out;
}

describe('readElf agrees with readelf on the machine\'s own binaries', () => {
  const seen = new Set<string>();
  // Files known to carry the rarer fields: RUNPATH (expr), RPATH (the JDK launcher), WEAK verdefs
  // (libdw), a long verdef chain (libz, libc), the loader itself (soname, no interpreter), an object file.
  const curated = [
    '/usr/bin/expr',
    '/usr/lib/jvm/java-17-openjdk-amd64/bin/java',
    '/usr/lib/x86_64-linux-gnu/libdw.so.1',
    '/usr/lib/x86_64-linux-gnu/libjson-c.so.5',
    '/usr/lib/x86_64-linux-gnu/libz.so.1',
    '/usr/lib/x86_64-linux-gnu/libc.so.6',
    '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
    '/usr/lib/x86_64-linux-gnu/crt1.o',
  ].filter((p) => existsSync(p) && hasElfMagic(p) && !seen.has(realpathSync(p)) && seen.add(realpathSync(p)));
  const files = [...curated, ...sample('/usr/bin', 25, seen), ...sample('/usr/lib/x86_64-linux-gnu', 15, seen)];
  const infos = new Map<string, ElfInfo>();

  it('samples at least 40 ELF files, covering every field the comparison checks', () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
    const all = files.map((f) => readelfFacts(f));
    expect(all.some((f) => f.interpreter !== undefined)).toBe(true);
    expect(all.some((f) => f.soname !== undefined)).toBe(true);
    expect(all.some((f) => f.runpath !== undefined || f.rpath !== undefined)).toBe(true);
    expect(all.some((f) => f.verneed.length > 1)).toBe(true);
    expect(all.some((f) => f.verdef.length > 5)).toBe(true);
    expect(all.some((f) => f.flags1 !== 0)).toBe(true);
  });

  it.each(files)('%s', (file) => {
    infos.set(file, expectMatchesReadelf(file));
  });

  it('probeFile reports the same ELF facts as readElf', () => {
    for (const file of files.slice(0, 10)) {
      const k = probeFile(file);
      expect(k.kind).toBe('elf');
      if (k.kind === 'elf') expect(k.elf).toEqual(readElf(file));
    }
  });

  it('finds glibc\'s own version chain in libc.so.6 and the loader without an interpreter', () => {
    const libc = readElf('/usr/lib/x86_64-linux-gnu/libc.so.6');
    expect(libc.soname).toBe('libc.so.6');
    expect(libc.verdef).toEqual(expect.arrayContaining(['GLIBC_2.2.5', 'GLIBC_2.34', 'GLIBC_PRIVATE']));
    expect(libc.verdef).not.toContain('libc.so.6');
    expect(libc.verneed.map((n) => n.file)).toContain('ld-linux-x86-64.so.2');
    const ld = readElf('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
    expect(ld.interpreter).toBeUndefined();
    expect(ld.needed).toEqual([]);
    expect(ld.soname).toBe('ld-linux-x86-64.so.2');
  });
});

describe('readElf on gcc-built fixtures', () => {
  let dir: string;
  const at = (name: string) => join(dir, name);

  beforeAll(() => {
    dir = tempDir('compat-elf-');
    writeFileSync(at('main.c'), 'int main(void) { return 0; }\n');
    writeFileSync(at('foo.c'), 'int foo1(void) { return 1; }\nint foo2(void) { return 2; }\n');
    writeFileSync(at('foo.map'), 'FOO_1.0 { global: foo1; local: *; };\nFOO_2.0 { global: foo2; } FOO_1.0;\n');
    writeFileSync(at('usefoo.c'), 'int foo2(void);\nint main(void) { return foo2() - 2; }\n');
    mkdirSync(at('lib'));
    gcc(dir, ['-shared', '-fPIC', '-Wl,-soname,libfoo.so.1', '-Wl,--version-script=foo.map', '-o', 'lib/libfoo.so.1', 'foo.c']);
    symlinkSync('libfoo.so.1', at('lib/libfoo.so'));
    mkdirSync(at('bin'));
    gcc(dir, ['-o', 'bin/usefoo', 'usefoo.c', '-Llib', '-lfoo', '-Wl,--enable-new-dtags', '-Wl,-rpath,$ORIGIN/../lib']);
    gcc(dir, ['-o', 'bin/rpath', 'main.c', '-Wl,--disable-new-dtags', '-Wl,-rpath,$ORIGIN/../lib']);
    gcc(dir, ['-o', 'bin/multi', 'main.c', '-Wl,--enable-new-dtags', '-Wl,-rpath,/opt/a:$ORIGIN/b', '-Wl,-rpath,/opt/c']);
    // GNU ld spells DF_1_NODEFLIB `-z nodefaultlib`; it warns about and ignores `-z nodeflib`.
    gcc(dir, ['-o', 'bin/nodeflib', 'main.c', '-Wl,-z,nodefaultlib']);
    gcc(dir, ['-o', 'bin/plain', 'main.c']);
    if (existsSync('/usr/lib/x86_64-linux-gnu/libc.a')) gcc(dir, ['-static', '-o', 'bin/static', 'main.c']);
    else {
      // No libc.a: a libc-free program whose _start exits through the syscall.
      writeFileSync(at('nolibc.c'), 'void _start(void) { __asm__ volatile("mov $60, %eax\\n\\txor %edi, %edi\\n\\tsyscall"); }\n');
      gcc(dir, ['-static', '-nostdlib', '-o', 'bin/static', 'nolibc.c']);
    }
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a static binary has no dynamic section, no interpreter, no needs', () => {
    const info = expectMatchesReadelf(at('bin/static'));
    expect(info.dynamic).toBe(false);
    expect(info.interpreter).toBeUndefined();
    expect(info.needed).toEqual([]);
    expect(info.verneed).toEqual([]);
    expect(info.class).toBe(64);
    expect(info.machine).toBe(62);
    expect(runBinary(at('bin/static')).status).toBe(0);
  });

  it('a plain PIE has the loader as interpreter, needs libc, and no search paths', () => {
    const info = expectMatchesReadelf(at('bin/plain'));
    expect(info.dynamic).toBe(true);
    expect(info.interpreter).toBe('/lib64/ld-linux-x86-64.so.2');
    expect(info.needed).toEqual(['libc.so.6']);
    expect(info.rpath).toBeUndefined();
    expect(info.runpath).toBeUndefined();
    expect(info.flags1 & DF_1_NODEFLIB).toBe(0);
  });

  it('a library built with a version script defines both versions, the soname excluded', () => {
    const info = expectMatchesReadelf(at('lib/libfoo.so.1'));
    expect(info.type).toBe('dyn');
    expect(info.soname).toBe('libfoo.so.1');
    expect(info.verdef).toEqual(['FOO_1.0', 'FOO_2.0']);
    expect(info.interpreter).toBeUndefined();
  });

  it('a binary using foo2 needs FOO_2.0 from libfoo.so.1 (and glibc versions from libc.so.6)', () => {
    const info = expectMatchesReadelf(at('bin/usefoo'));
    expect(info.needed).toEqual(['libfoo.so.1', 'libc.so.6']);
    const foo = info.verneed.find((n) => n.file === 'libfoo.so.1');
    expect(foo).toEqual({ file: 'libfoo.so.1', versions: [{ name: 'FOO_2.0', weak: false }] });
    const libc = info.verneed.find((n) => n.file === 'libc.so.6');
    expect(libc?.versions.map((v) => v.name)).toContain('GLIBC_2.34');
    expect(info.runpath).toEqual(['$ORIGIN/../lib']);
    expect(info.rpath).toBeUndefined();
    expect(info.verdef).toEqual([]);
    // The fixture is real: the loader accepts it through the runpath.
    expect(runBinary(at('bin/usefoo')).status).toBe(0);
  });

  it('--enable-new-dtags gives DT_RUNPATH, --disable-new-dtags gives DT_RPATH', () => {
    const runpath = readElf(at('bin/usefoo'));
    expect(runpath.runpath).toEqual(['$ORIGIN/../lib']);
    expect(runpath.rpath).toBeUndefined();
    const rpath = expectMatchesReadelf(at('bin/rpath'));
    expect(rpath.rpath).toEqual(['$ORIGIN/../lib']);
    expect(rpath.runpath).toBeUndefined();
  });

  it('splits a multi-entry runpath on colons without expanding anything', () => {
    const info = expectMatchesReadelf(at('bin/multi'));
    expect(info.runpath).toEqual(['/opt/a', '$ORIGIN/b', '/opt/c']);
  });

  it('-z nodefaultlib sets DF_1_NODEFLIB in flags1, next to PIE', () => {
    const info = expectMatchesReadelf(at('bin/nodeflib'));
    expect(info.flags1 & DF_1_NODEFLIB).toBe(DF_1_NODEFLIB);
    expect(DF_1_NODEFLIB).toBe(0x800);
    expect(info.flags1 & 0x08000000).toBe(0x08000000); // DF_1_PIE still there: flags1 is the whole word
  });
});

describe('readElf on hand-written ELF files (classes and byte orders gcc cannot make here)', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('compat-elf-craft-');
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, buf: Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, buf);
    return p;
  };

  const full: Omit<CraftSpec, 'class' | 'endian' | 'machine'> = {
    interpreter: '/lib/ld.so.1',
    needed: ['libc.so.6', 'libm.so.6'],
    soname: 'libcraft.so.3',
    rpath: '/r1:/r2',
    runpath: '$ORIGIN:/usr/local/lib',
    flags1: 0x801,
    verneed: [
      { file: 'libc.so.6', versions: [{ name: 'GLIBC_2.0' }, { name: 'GLIBC_2.1', weak: true }] },
      { file: 'libm.so.6', versions: [{ name: 'GLIBC_2.29' }] },
    ],
    verdef: ['CRAFT_1', 'CRAFT_2'],
  };
  const expected = {
    interpreter: '/lib/ld.so.1',
    dynamic: true,
    type: 'dyn',
    needed: ['libc.so.6', 'libm.so.6'],
    soname: 'libcraft.so.3',
    rpath: ['/r1', '/r2'],
    runpath: ['$ORIGIN', '/usr/local/lib'],
    flags1: 0x801,
    verneed: [
      { file: 'libc.so.6', versions: [{ name: 'GLIBC_2.0', weak: false }, { name: 'GLIBC_2.1', weak: true }] },
      { file: 'libm.so.6', versions: [{ name: 'GLIBC_2.29', weak: false }] },
    ],
    verdef: ['CRAFT_1', 'CRAFT_2'],
  };

  it.each([
    [32, 'big', 8],
    [64, 'big', 43],
    [32, 'little', 3],
    [64, 'little', 62],
  ] as const)('ELFCLASS%d %s-endian (machine %d): every field, and readelf agrees', (cls, endian, machine) => {
    const p = write(`full-${cls}-${endian}`, craftElf({ class: cls, endian, machine, osabi: 3, ...full }).buf);
    const info = expectMatchesReadelf(p);
    expect(info).toMatchObject({ class: cls, endian, machine, osabi: 3, ...expected });
    expect(probeFile(p)).toEqual({ kind: 'elf', elf: info });
  });

  it('reads a big-endian 32-bit object without section headers (the loader never needs them)', () => {
    const p = write('nosections', craftElf({ class: 32, endian: 'big', machine: 20, noSections: true, ...full }).buf);
    expect(readElf(p)).toMatchObject({ class: 32, endian: 'big', machine: 20, ...expected });
  });

  it('a big-endian 32-bit executable without PT_DYNAMIC is static', () => {
    const p = write('static32', craftElf({ class: 32, endian: 'big', machine: 8, type: 2, noDynamic: true }).buf);
    const info = expectMatchesReadelf(p);
    expect(info).toMatchObject({ class: 32, endian: 'big', type: 'exec', dynamic: false, needed: [], verneed: [], verdef: [], flags1: 0 });
    expect(info.interpreter).toBeUndefined();
  });

  describe('broken headers are FormatErrors of the right kind', () => {
    const base = () => craftElf({ class: 32, endian: 'big', machine: 8, ...full });
    const cases: Array<[string, FormatErrorKind, (b: Buffer, l: ReturnType<typeof craftElf>['layout']) => Buffer]> = [
      ['unknown class byte', 'corrupt', (b) => ((b[4] = 3), b)],
      ['unknown data encoding', 'corrupt', (b) => ((b[5] = 0), b)],
      ['program header entries smaller than Elf32_Phdr', 'corrupt', (b) => (b.writeUInt16BE(16, 42), b)],
      ['65535 program headers', 'corrupt', (b) => (b.writeUInt16BE(0xffff, 44), b)],
      ['program headers past the end of the file', 'truncated', (b) => (b.writeUInt32BE(0xfffffff0, 28), b)],
      ['PT_INTERP past the end of the file', 'truncated', (b, l) => (b.writeUInt32BE(b.length + 100, l.phoff + 4), b)],
      ['PT_DYNAMIC past the end of the file', 'truncated', (b, l) => (b.writeUInt32BE(b.length - 4, l.phoff + 2 * 32 + 4), b)],
      ['DT_NEEDED offset outside the string table', 'corrupt', (b, l) => (b.writeUInt32BE(0x7fffffff, l.dynamicOff! + 4), b)],
      ['DT_STRTAB address outside every PT_LOAD', 'corrupt', (b, l) => (b.writeUInt32BE(0x20, l.dynamicOff! + 8 * 5 + 4), b)],
      ['DT_STRSZ running past the end of the file', 'truncated', (b, l) => (b.writeUInt32BE(0xffffff, l.dynamicOff! + 8 * 6 + 4), b)],
      ['no DT_STRTAB at all', 'corrupt', (b, l) => (b.writeInt32BE(0x7ffffff0, l.dynamicOff! + 8 * 5), b)],
      ['a string table with no terminating NUL', 'corrupt', (b, l) => (b.fill(0x41, l.dynstrOff, l.dynstrOff + l.dynstrSize), b)],
      ['a Verneed chain running off the end', 'truncated', (b, l) => (b.writeUInt32BE(0x7ffffff0, l.verneedOff! + 12), b)],
      ['a Verdaux offset running off the end', 'truncated', (b, l) => (b.writeUInt32BE(0x7ffffff0, l.verdefOff! + 28 + 12), b)],
    ];
    it.each(cases)('%s → %s', (name, kind, mutate) => {
      const c = base();
      const p = write(`bad-${name.replace(/\W+/g, '-')}`, mutate(Buffer.from(c.buf), c.layout));
      expectFormatError(() => readElf(p), p, kind);
      expectFormatError(() => probeFile(p), p, kind);
    });
  });
});

/**
 * Node script: argv = module URL, function name, path. Calls the built module's function on the
 * path and prints its result, or the FormatError it threw, as JSON.
 */
const READ_IN_CHILD = `
const [url, fn, path] = process.argv.slice(1);
const m = await import(url);
try {
  const value = m[fn](path);
  process.stdout.write(JSON.stringify({ value: fn === 'probeFile' ? value : 'an ElfInfo' }));
} catch (e) {
  process.stdout.write(JSON.stringify({ error: { name: e.constructor.name, kind: e.kind, message: e.message } }));
}
`;

describe('probeFile and readElf on things that are not (whole) ELF files', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('compat-elf-probe-');
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, content: string | Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };

  it('a #!/bin/sh script is a script run by /bin/sh', () => {
    const p = write('script.sh', '#!/bin/sh\necho hello\n');
    chmodSync(p, 0o755);
    expect(probeFile(p)).toEqual({ kind: 'script', interpreter: '/bin/sh' });
  });

  it('a script\'s interpreter is the first word after #!, spaces allowed before it; the rest is one argument', () => {
    expect(probeFile(write('env.py', '#!/usr/bin/env python3 -u\nprint(1)\n'))).toEqual({ kind: 'script', interpreter: '/usr/bin/env', argument: 'python3 -u' });
    expect(probeFile(write('spaced', '#! /bin/bash\n'))).toEqual({ kind: 'script', interpreter: '/bin/bash' });
  });

  it('plain text, an empty file and a linker script are "other"', () => {
    expect(probeFile(write('text.txt', 'hello, world\n'))).toEqual({ kind: 'other' });
    expect(probeFile(write('empty', ''))).toEqual({ kind: 'other' });
    expect(probeFile(write('hash', '#'))).toEqual({ kind: 'other' });
    if (existsSync('/usr/lib/x86_64-linux-gnu/libc.so')) expect(probeFile('/usr/lib/x86_64-linux-gnu/libc.so')).toEqual({ kind: 'other' });
  });

  it('readElf on a text file is not-elf', () => {
    const p = write('text2.txt', 'this is not an ELF file at all, just some text\n');
    expectFormatError(() => readElf(p), p, 'not-elf');
  });

  it('readElf on a file shorter than the magic is not-elf', () => {
    const p = write('short', Buffer.from([0x7f, 0x45, 0x4c]));
    expectFormatError(() => readElf(p), p, 'not-elf');
  });

  it('a nonexistent path is not-found, for both readers', () => {
    const p = join(dir, 'does', 'not', 'exist');
    expectFormatError(() => readElf(p), p, 'not-found');
    expectFormatError(() => probeFile(p), p, 'not-found');
  });

  it('a dangling symlink is not-found', () => {
    const p = join(dir, 'dangling');
    symlinkSync(join(dir, 'nowhere'), p);
    expectFormatError(() => readElf(p), p, 'not-found');
  });

  it('a symlink loop is unreadable', () => {
    const a = join(dir, 'loop-a');
    const b = join(dir, 'loop-b');
    symlinkSync(b, a);
    symlinkSync(a, b);
    expectFormatError(() => readElf(a), a, 'unreadable');
  });

  it('a directory is is-directory, for both readers', () => {
    expectFormatError(() => readElf(dir), dir, 'is-directory');
    expectFormatError(() => probeFile(dir), dir, 'is-directory');
  });

  /**
   * A FIFO among the files handed over (an application tree, a library directory) must be turned
   * away at once: a blocking open would wait for a writer that never comes. The read runs in a
   * child process (the built module) with a deadline: killed there, it was waiting for a writer.
   */
  it.each(['readElf', 'probeFile'] as const)('%s turns a FIFO away without waiting for a writer', (name) => {
    const fifo = join(dir, `fifo-${name}`);
    execFileSync('mkfifo', [fifo]);
    const module = pathToFileURL(join(process.cwd(), 'dist', 'host', 'elf.js')).href;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', READ_IN_CHILD, module, name, fifo], { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL', env: { ...process.env, NODE_OPTIONS: '' } });
    expect({ waitedForWriter: r.signal === 'SIGKILL', status: r.status, stderr: r.stderr }).toEqual({ waitedForWriter: false, status: 0, stderr: '' });
    const result = JSON.parse(r.stdout) as { value?: unknown; error?: { name: string; kind: string; message: string } };
    if (result.error) {
      expect(result.error.name).toBe('FormatError');
      expect(['unreadable', 'not-elf']).toContain(result.error.kind);
      expect(result.error.message.startsWith(`${fifo}: `)).toBe(true);
    } else {
      expect(name).toBe('probeFile');
      expect(result.value).toEqual({ kind: 'other' });
    }
  });

  it('the first 30 bytes of /bin/true are a truncated ELF, for both readers', () => {
    const p = write('true-30', readFileSync('/bin/true').subarray(0, 30));
    expectFormatError(() => readElf(p), p, 'truncated');
    expectFormatError(() => probeFile(p), p, 'truncated');
  });

  it('ELF magic with less than the 16-byte identification is truncated', () => {
    const p = write('true-10', readFileSync('/bin/true').subarray(0, 10));
    expectFormatError(() => readElf(p), p, 'truncated');
  });

  it('/bin/true cut just before its dynamic section ends is truncated', () => {
    const whole = readFileSync('/bin/true');
    const m = /^\s+DYNAMIC\s+0x([0-9a-f]+)\s+\S+\s+\S+\s+0x([0-9a-f]+)/m.exec(execFileSync('readelf', ['-l', '-W', '/bin/true'], { encoding: 'utf8' }));
    expect(m).not.toBeNull();
    const end = parseInt(m![1]!, 16) + parseInt(m![2]!, 16);
    const p = write('true-cut', whole.subarray(0, end - 1));
    expectFormatError(() => readElf(p), p, 'truncated');
  });
});
