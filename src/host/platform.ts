import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveInRoot } from './object-source.js';

/**
 * What the dynamic loader of one machine/class pair assumes about the system: its compiled-in
 * default directories, what `$LIB` and `$PLATFORM` expand to, the subdirectories it tries inside
 * every search directory, and which ld.so.cache entries it accepts.
 */
export interface LoaderPlatform {
  machine: number;
  class: 32 | 64;
  defaultDirs: string[];
  lib: string;
  platform: string;
  /** Tried in order inside each search directory, '' (the directory itself) last. */
  subdirs: string[];
  /** Active glibc-hwcaps subdirectory names, best first. */
  hwcaps: string[];
  /** The loader that runs objects of this platform when they name none (shared libraries). */
  interpreter?: string;
}

interface Layout {
  multiarch: Record<string, string>;
  interpreter: Record<string, string>;
  platform: Record<string, string>;
}

const LAYOUT: Layout = {
  multiarch: { '62/64': 'x86_64-linux-gnu', '3/32': 'i386-linux-gnu', '183/64': 'aarch64-linux-gnu', '40/32': 'arm-linux-gnueabihf', '21/64': 'powerpc64le-linux-gnu', '22/64': 's390x-linux-gnu', '243/64': 'riscv64-linux-gnu' },
  interpreter: { '62/64': '/lib64/ld-linux-x86-64.so.2', '3/32': '/lib/ld-linux.so.2', '183/64': '/lib/ld-linux-aarch64.so.1', '40/32': '/lib/ld-linux-armhf.so.3', '21/64': '/lib64/ld64.so.2', '22/64': '/lib/ld64.so.1', '243/64': '/lib/ld-linux-riscv64-lp64d.so.1' },
  platform: { '62/64': 'x86_64', '3/32': 'i686', '183/64': 'aarch64', '21/64': 'power9', '22/64': 'z13', '243/64': 'riscv64' },
};

/** x86-64 micro-architecture levels by the CPU flags the psABI requires of each. */
const X86_LEVELS: Array<[string, string[]]> = [
  ['x86-64-v4', ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl']],
  ['x86-64-v3', ['avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave']],
  ['x86-64-v2', ['cx16', 'lahf_lm', 'popcnt', 'sse4_1', 'sse4_2', 'ssse3']],
];

export function x86HwcapsFromCpuinfo(cpuinfo: string): string[] {
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '';
  const flags = new Set(line.trim().split(/\s+/));
  const out: string[] = [];
  // Each level includes the ones below it: a CPU lacking v2 cannot claim v3.
  for (let i = X86_LEVELS.length - 1; i >= 0; i--) {
    const [name, need] = X86_LEVELS[i]!;
    if (!need.every((f) => flags.has(f))) break;
    out.unshift(name);
  }
  return out;
}

/**
 * The `glibc.cpu.hwcaps` names that glibc 2.36 lets a `-NAME` turn off (sysdeps/x86/cpu-tunables.c,
 * `TUNABLE_CALLBACK (set_hwcaps)`) and that a glibc-hwcaps level needs
 * (sysdeps/x86_64/dl-hwcaps-subdirs.c), with the lowest level each one takes away. CMPXCHG16B,
 * LAHF64_SAHF64, SSE3 and F16C cannot be turned off there (measured: masking them changes nothing).
 */
const TUNABLE_LEVEL: Readonly<Record<string, string>> = {
  POPCNT: 'x86-64-v2', SSSE3: 'x86-64-v2', SSE4_1: 'x86-64-v2', SSE4_2: 'x86-64-v2',
  AVX: 'x86-64-v3', AVX2: 'x86-64-v3', BMI1: 'x86-64-v3', BMI2: 'x86-64-v3', FMA: 'x86-64-v3', LZCNT: 'x86-64-v3', MOVBE: 'x86-64-v3', OSXSAVE: 'x86-64-v3',
  AVX512F: 'x86-64-v4', AVX512BW: 'x86-64-v4', AVX512CD: 'x86-64-v4', AVX512DQ: 'x86-64-v4', AVX512VL: 'x86-64-v4',
};

/** The value of `glibc.cpu.hwcaps` in a `GLIBC_TUNABLES` string (`name=value:name=value`; the last one counts). */
export function hwcapsTunable(tunables: string | undefined): string | undefined {
  let value: string | undefined;
  for (const item of (tunables ?? '').split(':')) {
    const eq = item.indexOf('=');
    if (eq > 0 && item.slice(0, eq) === 'glibc.cpu.hwcaps') value = item.slice(eq + 1);
  }
  return value;
}

/**
 * The x86-64 glibc-hwcaps levels (best first) left once `GLIBC_TUNABLES=glibc.cpu.hwcaps=-NAME,…`
 * turns features off, as `_dl_important_hwcaps` then finds them usable: a level that needs a masked
 * feature goes, with every level above it. Names are case-sensitive, as glibc compares them.
 */
export function maskX86Hwcaps(hwcaps: string[], tunables: string | undefined): string[] {
  const value = hwcapsTunable(tunables);
  if (!value) return hwcaps;
  const order = ['x86-64-v2', 'x86-64-v3', 'x86-64-v4'];
  let lowest = order.length;
  for (const entry of value.split(',')) {
    const level = entry.startsWith('-') ? TUNABLE_LEVEL[entry.slice(1)] : undefined;
    if (level) lowest = Math.min(lowest, order.indexOf(level));
  }
  return hwcaps.filter((h) => !order.includes(h) || order.indexOf(h) < lowest);
}

let cpuinfo: string | undefined;
function hostCpuinfo(): string {
  if (cpuinfo === undefined) {
    try {
      cpuinfo = readFileSync('/proc/cpuinfo', 'latin1');
    } catch {
      cpuinfo = '';
    }
  }
  return cpuinfo;
}

let cpuHwcaps: string[] | undefined;
function hostX86Hwcaps(): string[] {
  return (cpuHwcaps ??= x86HwcapsFromCpuinfo(hostCpuinfo()));
}

/**
 * The legacy capability subdirectories (`_dl_important_hwcaps` before glibc-hwcaps, still tried by
 * glibc 2.36): with and without a `tls/` prefix, every combination of the platform and important
 * hwcap names, longest first, each once. i386 with SSE2: tls/i686/sse2, tls/i686, tls/sse2, tls,
 * i686/sse2, i686, sse2; x86-64 (platform and hwcap both "x86_64"): tls/x86_64/x86_64, tls/x86_64,
 * tls, x86_64/x86_64, x86_64. The directory itself ('') is not included.
 */
export function legacyHwcapSubdirs(names: readonly string[]): string[] {
  const out: string[] = [];
  const n = names.length;
  for (const tls of [true, false]) {
    for (let mask = (1 << n) - 1; mask >= 0; mask--) {
      const parts = names.filter((_, i) => (mask & (1 << (n - 1 - i))) !== 0);
      const sub = [...(tls ? ['tls'] : []), ...parts].join('/');
      if (sub && !out.includes(sub)) out.push(sub);
    }
  }
  return out;
}

/** The platform and important hwcap names the legacy subdirectories are made of, per loader. */
function legacyNames(machine: number, cls: 32 | 64): string[] {
  if (machine === 62 && cls === 64) return ['x86_64', 'x86_64'];
  if (machine === 3 && cls === 32) return /^flags\s*:.*\bsse2\b/m.test(hostCpuinfo()) ? ['i686', 'sse2'] : ['i686'];
  return [];
}

/**
 * The compiled-in system directories of a glibc `ld.so` (`system_dirs` in elf/dl-load.c, what
 * `ld.so --list-diagnostics` prints as path.system_dirs), read from the loader's file: a run of
 * NUL-terminated absolute directory names ending in '/'. Never runs the loader.
 */
export function systemDirsInLoader(bytes: Buffer): string[] | undefined {
  // Every glibc build ends the list with a /usr/lib… directory: find those, then read the whole
  // NUL-separated run of "/…/" names around each (a byte search: the file is read once per loader).
  const isDir = (x: string) => x.length > 1 && x.length < 256 && x.startsWith('/') && x.endsWith('/') && !/[^\x21-\x7e]/.test(x);
  const strAt = (start: number) => bytes.toString('latin1', start, bytes.indexOf(0, start));
  for (let i = bytes.indexOf('\0/usr/lib'); i >= 0; i = bytes.indexOf('\0/usr/lib', i + 1)) {
    let start = i + 1;
    // Walk back over the names before this one.
    for (;;) {
      const prevEnd = start - 1;
      const prevStart = bytes.lastIndexOf(0, prevEnd - 1) + 1;
      if (prevStart >= prevEnd || !isDir(bytes.toString('latin1', prevStart, prevEnd))) break;
      start = prevStart;
    }
    const dirs: string[] = [];
    for (let p = start; p < bytes.length && dirs.length < 16; ) {
      const x = strAt(p);
      if (!isDir(x)) break;
      dirs.push(x);
      p += x.length + 1;
    }
    if (dirs.length >= 2 && dirs.every((d) => /\blib/.test(d))) return dirs;
  }
  return undefined;
}

const loaderDirs = new Map<string, string[] | undefined>();
function loaderDirsOf(hostPath: string): string[] | undefined {
  if (!loaderDirs.has(hostPath)) {
    let dirs: string[] | undefined;
    try {
      dirs = systemDirsInLoader(readFileSync(hostPath));
    } catch {
      dirs = undefined;
    }
    loaderDirs.set(hostPath, dirs);
  }
  return loaderDirs.get(hostPath);
}

/**
 * The loader platform for binaries of `machine`/`cls` on this host (or inside `root`).
 * Debian-style multiarch directories are used when the tree has them, else the lib64 layout
 * of Red Hat-like systems.
 */
export function loaderPlatform(machine: number, cls: 32 | 64, root = '/', opts: { hwcaps?: string[]; legacySubdirs?: boolean; interpreter?: string; tunables?: string } = {}): LoaderPlatform {
  const key = `${machine}/${cls}`;
  const triplet = LAYOUT.multiarch[key];
  const interpreter = opts.interpreter ?? LAYOUT.interpreter[key];
  // The loader that runs the binary knows its own directories: read them from its file.
  const fromLoader = interpreter ? loaderDirsOf(root === '/' ? interpreter : resolveInRoot(root, interpreter)) : undefined;
  let lib: string;
  let defaultDirs: string[];
  if (fromLoader) {
    defaultDirs = fromLoader.map((d) => d.replace(/\/+$/, ''));
    // $LIB is the loader's own library directory (slibdir), the first of its system directories.
    lib = defaultDirs[0]!.replace(/^\/+/, '');
  } else if (triplet !== undefined && existsSync(join(root, 'usr/lib', triplet))) {
    // No loader to read (a foreign root, a missing interpreter): Debian's multiarch layout if the tree has it.
    lib = `lib/${triplet}`;
    defaultDirs = [`/lib/${triplet}`, `/usr/lib/${triplet}`, '/lib', '/usr/lib'];
  } else if (cls === 64 && machine !== 183) {
    lib = 'lib64';
    defaultDirs = ['/lib64', '/usr/lib64'];
  } else {
    lib = 'lib';
    defaultDirs = ['/lib', '/usr/lib'];
  }
  const platform = LAYOUT.platform[key] ?? '';
  const isX8664 = machine === 62 && cls === 64;
  const cpu = opts.hwcaps ?? (isX8664 ? hostX86Hwcaps() : []);
  const hwcaps = isX8664 ? maskX86Hwcaps(cpu, opts.tunables) : cpu;
  const subdirs = hwcaps.map((h) => `glibc-hwcaps/${h}`);
  // glibc up to 2.36 still tries the legacy hwcap subdirectories (AT_PLATFORM, tls, hwcap names).
  if (opts.legacySubdirs !== false) subdirs.push(...legacyHwcapSubdirs(legacyNames(machine, cls)));
  subdirs.push('');
  return { machine, class: cls, defaultDirs, lib, platform, subdirs, hwcaps, interpreter };
}
