import { DF_1_NODEFLIB, machineName, machineNumber } from './elf.js';
import type { DynamicSymbols, ElfInfo } from './elf.js';
import { x86IsaMask, x86IsaNames } from './isa.js';
import type { ObjectFacts } from './object-source.js';
import { tableToBase64 } from './symbol-table.js';

/**
 * An object's dynamic symbols as the spec records them. References are names separated by single
 * spaces, each `@VERSION` token giving the version of the names after it (src/host/ref-list.ts;
 * one string per group keeps a spec of thousands small and quick to parse), grouped by what the
 * loader does when one is missing: `functions` bind at their first call under lazy binding, `data`
 * and `tls` at start, `weak` never fail. `defs` is the compact table of
 * symbol-table.ts (base64), which a library of the application supplies to the others.
 */
export interface AppSymbols {
  bindNow?: boolean;
  functions?: string;
  data?: string;
  tls?: string;
  weak?: string;
  defs?: string;
  /** No `.gnu.version`: any version asked of this object binds (or trips check_match's assertion). */
  unversioned?: boolean;
}

/**
 * One binary of an application as the check needs it: what the loader will read from its headers.
 * It is the `binaries[]` entry of the compat spec; it lives here so a check works from it offline.
 */
export interface AppBinary {
  /** Path inside the application's tree ('/'-separated, relative). */
  path: string;
  /** Other paths in the tree that name the same file (symbolic links such as `libfoo.so.1`). */
  aliases?: string[];
  type: 'executable' | 'library';
  linkage: 'dynamic' | 'static' | 'script';
  machine: string;
  class: 32 | 64;
  endian?: 'little' | 'big';
  interpreter?: string;
  /** Scripts: the rest of the `#!` line, passed to the interpreter as one argument (`#!/usr/bin/env python3`). */
  interpreterArgument?: string;
  soname?: string;
  needed: Array<{ soname: string; versions: string[]; weakVersions?: string[] }>;
  rpath?: string[];
  runpath?: string[];
  nodeflib?: boolean;
  /** DT_FILTER filtees (each must load) and DT_AUXILIARY ones (optional). */
  filters?: string[];
  auxiliary?: string[];
  /** Versions this binary defines (for libraries that travel with the application). */
  defines?: string[];
  /** Paths (inside the tree) of the libraries it loads from the application itself. */
  bundled?: string[];
  /** x86: the ISA levels its GNU property note needs (`x86-64-v3`…); the loader refuses it on a lesser CPU. */
  x86IsaNeeded?: string[];
  /** Its dynamic symbols; absent in specs written before compat read symbols (then nothing is bound). */
  symbols?: AppSymbols;
  /** `runtime`: a recorded run dlopen()ed it; checked like every other binary of the spec. */
  loadedAt?: 'startup' | 'runtime';
}

export function appSymbols(s: DynamicSymbols): AppSymbols {
  const out: AppSymbols = {};
  if (s.bindNow) out.bindNow = true;
  // Written by the ELF reader version by version, in `.dynsym` order within each: the same file always gives the same spec.
  const { functions, data, tls, weak } = s.lists;
  if (functions) out.functions = functions;
  if (data) out.data = data;
  if (tls) out.tls = tls;
  if (weak) out.weak = weak;
  if (s.defs.length) out.defs = tableToBase64(s.defs);
  if (!s.hasVersym) out.unversioned = true;
  return out;
}

/** `runnable`: the file has an execute bit; without one even a file with PT_INTERP is only ever loaded, never run. */
export function appBinaryFromElf(path: string, elf: ElfInfo, bundled: string[], runnable = true): AppBinary {
  const byFile = new Map(elf.verneed.map((n) => [n.file, n.versions]));
  const needed = elf.needed.map((soname) => {
    const vs = byFile.get(soname) ?? [];
    const weak = vs.filter((v) => v.weak).map((v) => v.name);
    return { soname, versions: vs.filter((v) => !v.weak).map((v) => v.name), ...(weak.length ? { weakVersions: weak } : {}) };
  });
  return {
    path,
    type: runnable && (elf.interpreter || elf.type === 'exec') ? 'executable' : 'library',
    linkage: elf.dynamic ? 'dynamic' : 'static',
    machine: machineName(elf.machine),
    class: elf.class,
    endian: elf.endian,
    ...(elf.interpreter ? { interpreter: elf.interpreter } : {}),
    ...(elf.soname ? { soname: elf.soname } : {}),
    needed,
    ...(elf.rpath && !elf.runpath ? { rpath: elf.rpath } : {}),
    ...(elf.runpath ? { runpath: elf.runpath } : {}),
    ...(elf.flags1 & DF_1_NODEFLIB ? { nodeflib: true } : {}),
    ...(elf.filters ? { filters: elf.filters } : {}),
    ...(elf.auxiliary ? { auxiliary: elf.auxiliary } : {}),
    ...(elf.verdef.length ? { defines: elf.verdef } : {}),
    ...(bundled.length ? { bundled } : {}),
    ...(elf.x86IsaNeeded ? { x86IsaNeeded: x86IsaNames(elf.x86IsaNeeded) } : {}),
    ...(elf.symbols && elf.dynamic ? { symbols: appSymbols(elf.symbols) } : {}),
  };
}

/** The loader's view of a spec entry; entries of unknown versions pass the version check. */
export function factsOfApp(b: AppBinary): ObjectFacts {
  const isNeeded = new Set<string>();
  const needed: string[] = [];
  const verneed: ObjectFacts['verneed'] = [];
  for (const n of b.needed) {
    if (!isNeeded.has(n.soname)) needed.push(n.soname);
    isNeeded.add(n.soname);
    const versions = [...n.versions.map((name) => ({ name, weak: false })), ...(n.weakVersions ?? []).map((name) => ({ name, weak: true }))];
    if (versions.length) verneed.push({ file: n.soname, versions });
  }
  return {
    class: b.class,
    endian: b.endian ?? 'little',
    osabi: 0,
    // The spec does not record e_type: a shared library with PT_INTERP (libc.so.6) is listed as an
    // executable yet loads as a library, so the loader's ET_EXEC/PIE refusal cannot be judged here.
    type: 'dyn',
    machine: machineNumber(b.machine) ?? -1,
    interpreter: b.interpreter,
    dynamic: b.linkage === 'dynamic',
    needed,
    soname: b.soname,
    rpath: b.rpath,
    runpath: b.runpath,
    flags1: b.nodeflib ? DF_1_NODEFLIB : 0,
    ...(b.filters ? { filters: b.filters } : {}),
    ...(b.auxiliary ? { auxiliary: b.auxiliary } : {}),
    verneed,
    verdef: b.defines ?? [],
    ...(b.x86IsaNeeded?.length ? { x86IsaNeeded: x86IsaMask(b.x86IsaNeeded) } : {}),
  };
}
