import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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

let cpuHwcaps: string[] | undefined;
function hostX86Hwcaps(): string[] {
  if (!cpuHwcaps) {
    try {
      cpuHwcaps = x86HwcapsFromCpuinfo(readFileSync('/proc/cpuinfo', 'latin1'));
    } catch {
      cpuHwcaps = [];
    }
  }
  return cpuHwcaps;
}

/**
 * The loader platform for binaries of `machine`/`cls` on this host (or inside `root`).
 * Debian-style multiarch directories are used when the tree has them, else the lib64 layout
 * of Red Hat-like systems.
 */
export function loaderPlatform(machine: number, cls: 32 | 64, root = '/', opts: { hwcaps?: string[]; legacySubdirs?: boolean } = {}): LoaderPlatform {
  const key = `${machine}/${cls}`;
  const triplet = LAYOUT.multiarch[key];
  const multiarch = triplet !== undefined && existsSync(join(root, 'usr/lib', triplet));
  let lib: string;
  let defaultDirs: string[];
  if (multiarch) {
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
  const hwcaps = opts.hwcaps ?? (isX8664 ? hostX86Hwcaps() : []);
  const subdirs = hwcaps.map((h) => `glibc-hwcaps/${h}`);
  // glibc up to 2.36 still tries the legacy hwcap subdirectories (AT_PLATFORM, tls, x86_64).
  if (isX8664 && opts.legacySubdirs !== false) subdirs.push('tls/x86_64/x86_64', 'tls/x86_64', 'tls', 'x86_64/x86_64', 'x86_64');
  subdirs.push('');
  return { machine, class: cls, defaultDirs, lib, platform, subdirs, hwcaps, interpreter: LAYOUT.interpreter[key] };
}
