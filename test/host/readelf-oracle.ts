/**
 * What GNU readelf says about an ELF file, in the shape of `ElfInfo`: the oracle the
 * ELF reader's tests compare against. Parses `readelf -h -l -d -W` and `readelf -V -W`.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import type { ElfInfo } from '../../src/host/elf.js';

/** What readelf tells of a file, in the reader's own shape (readelf does not always name the machine). */
export type ReadelfFacts = Omit<ElfInfo, 'path' | 'osabi' | 'machine'> & { machine?: number };

/** readelf's names for the DF_1_* bits (binutils 2.40 `get_dynamic_flags` order). */
const DF_1: Record<string, number> = {
  NOW: 0x1,
  GLOBAL: 0x2,
  GROUP: 0x4,
  NODELETE: 0x8,
  LOADFLTR: 0x10,
  INITFIRST: 0x20,
  NOOPEN: 0x40,
  ORIGIN: 0x80,
  DIRECT: 0x100,
  TRANS: 0x200,
  INTERPOSE: 0x400,
  NODEFLIB: 0x800,
  NODUMP: 0x1000,
  CONFALT: 0x2000,
  ENDFILTEE: 0x4000,
  DISPRELDNE: 0x8000,
  DISPRELPND: 0x10000,
  NODIRECT: 0x20000,
  IGNMULDEF: 0x40000,
  NOKSYMS: 0x80000,
  NOHDR: 0x100000,
  EDITED: 0x200000,
  NORELOC: 0x400000,
  SYMINTPOSE: 0x800000,
  GLOBAUDIT: 0x1000000,
  SINGLETON: 0x2000000,
  STUB: 0x4000000,
  PIE: 0x8000000,
  KMOD: 0x10000000,
  WEAKFILTER: 0x20000000,
  NOCOMMON: 0x40000000,
};

const MACHINE: Array<[RegExp, number]> = [
  [/^Advanced Micro Devices X86-64$/, 62],
  [/^Intel 80386$/, 3],
  [/^MIPS R3000$/, 8],
  [/^Sparc v9$/, 43],
  [/^PowerPC$/, 20],
  [/^PowerPC64$/, 21],
  [/^AArch64$/, 183],
  [/^RISC-V$/, 243],
];

function run(args: string[]): string {
  return execFileSync('readelf', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
}

export function readelfFacts(path: string): ReadelfFacts {
  const out = run(['-h', '-l', '-d', '-W', path]);
  const ver = run(['-V', '-W', path]);
  const one = (re: RegExp) => re.exec(out)?.[1];

  const cls = one(/^\s*Class:\s+ELF(32|64)\s*$/m);
  const endian = one(/^\s*Data:\s+.*\b(little|big) endian\s*$/m);
  const type = one(/^\s*Type:\s+(\w+)/m);
  const machineName = one(/^\s*Machine:\s+(.*?)\s*$/m);
  if (!cls || !endian || !type || machineName === undefined) throw new Error(`readelf -h gave no header for ${path}:\n${out}`);

  let flags1 = 0;
  const f1 = one(/\(FLAGS_1\)\s+Flags:\s*(.*?)\s*$/m);
  if (f1) {
    for (const name of f1.split(/\s+/).filter(Boolean)) {
      const bit = DF_1[name];
      if (bit === undefined) throw new Error(`readelf printed an unknown FLAGS_1 name ${name} for ${path}`);
      flags1 |= bit;
    }
    flags1 >>>= 0;
  }

  const facts: ReadelfFacts = {
    class: cls === '64' ? 64 : 32,
    endian: endian as 'little' | 'big',
    type: ({ REL: 'rel', EXEC: 'exec', DYN: 'dyn', CORE: 'core' } as const)[type as 'REL'] ?? 'other',
    machine: MACHINE.find(([re]) => re.test(machineName))?.[1],
    dynamic: /^\s+DYNAMIC\s+0x/m.test(out),
    needed: [...out.matchAll(/\(NEEDED\)\s+Shared library: \[(.*)\]\s*$/gm)].map((m) => m[1]!),
    flags1,
    verneed: [],
    verdef: [],
  };
  const interp = one(/\[Requesting program interpreter: (.*)\]\s*$/m);
  if (interp !== undefined) facts.interpreter = interp;
  const soname = one(/\(SONAME\)\s+Library soname: \[(.*)\]\s*$/m);
  if (soname !== undefined) facts.soname = soname;
  const rpath = one(/\(RPATH\)\s+Library rpath: \[(.*)\]\s*$/m);
  if (rpath !== undefined) facts.rpath = rpath.split(':');
  const runpath = one(/\(RUNPATH\)\s+Library runpath: \[(.*)\]\s*$/m);
  if (runpath !== undefined) facts.runpath = runpath.split(':');

  let section: 'need' | 'def' | undefined;
  for (const line of ver.split('\n')) {
    if (/^Version needs section/.test(line)) section = 'need';
    else if (/^Version definition section/.test(line)) section = 'def';
    else if (/^Version symbols section/.test(line)) section = undefined;
    else if (section === 'need') {
      const file = /^\s+\S+: Version: \d+\s+File: (.*?)\s+Cnt: \d+\s*$/.exec(line);
      const aux = /^\s+\S+:\s+Name: (.*?)\s+Flags: (.*?)\s+Version: \d+\s*$/.exec(line);
      if (file) facts.verneed.push({ file: file[1]!, versions: [] });
      else if (aux) facts.verneed.at(-1)!.versions.push({ name: aux[1]!, weak: /\bWEAK\b/.test(aux[2]!) });
    } else if (section === 'def') {
      const def = /^\s+\S+: Rev: \d+\s+Flags: (.*?)\s+Index: \d+\s+Cnt: (\d+)\s+Name: (.*?)\s*$/.exec(line);
      if (def && !/\bBASE\b/.test(def[1]!) && def[2] !== '0') facts.verdef.push(def[3]!);
    }
  }
  return facts;
}

/** True when the file starts with the ELF magic, read without the code under test. */
export function hasElfMagic(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.toString('latin1') === '\x7fELF';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
