import { readFileSync } from 'node:fs';

/** `GNU_PROPERTY_X86_ISA_1_*` bits, as a GNU property note and the loader's `isa_1` spell them. */
export const X86_ISA_LEVELS: ReadonlyArray<readonly [number, string]> = [
  [0x1, 'x86-64-baseline'],
  [0x2, 'x86-64-v2'],
  [0x4, 'x86-64-v3'],
  [0x8, 'x86-64-v4'],
];

/**
 * The CPU flags (as /proc/cpuinfo names them) that each level adds, in the order and with the
 * features of glibc's `get_isa_level` (sysdeps/x86/get-isa-level.h). That list is not the psABI's
 * hwcaps list: v3 here does not ask for BMI1/BMI2 or XSAVE. SSE3 is `pni`, LZCNT is `abm`,
 * LAHF64_SAHF64 is `lahf_lm` and CMPXCHG16B is `cx16` to the kernel.
 */
const LEVEL_FLAGS: ReadonlyArray<readonly [number, readonly string[]]> = [
  [0x1, ['cmov', 'cx8', 'fpu', 'fxsr', 'mmx', 'sse', 'sse2']],
  [0x2, ['cx16', 'lahf_lm', 'popcnt', 'pni', 'ssse3', 'sse4_1', 'sse4_2']],
  [0x4, ['avx', 'avx2', 'f16c', 'fma', 'abm', 'movbe']],
  [0x8, ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl']],
];

/**
 * The loader's `isa_1` for a CPU with these /proc/cpuinfo flags: each level needs the one below.
 * glibc 2.36 computes it in `update_active`, before `glibc.cpu.hwcaps` tunables are applied, so a
 * `GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F` mask changes the hwcaps subdirectories searched but
 * never this level (measured: `ld.so --list-diagnostics` keeps `x86.cpu_features.isa_1`, and an
 * object needing x86-64-v4 still loads).
 */
export function x86IsaLevelFromCpuinfo(cpuinfo: string): number {
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '';
  const flags = new Set(line.trim().split(/\s+/));
  let level = 0;
  for (const [bit, need] of LEVEL_FLAGS) {
    if (!need.every((f) => flags.has(f))) break;
    level |= bit;
  }
  return level;
}

let hostLevel: number | undefined;

/** This machine's `isa_1`, read once from /proc/cpuinfo (0 when it cannot be read). */
export function hostX86IsaLevel(): number {
  if (hostLevel === undefined) {
    try {
      hostLevel = x86IsaLevelFromCpuinfo(readFileSync('/proc/cpuinfo', 'latin1'));
    } catch {
      hostLevel = 0;
    }
  }
  return hostLevel;
}

/** `x86-64-v3`-style names of the bits set in `mask`; bits no level names are shown in hex. */
export function x86IsaNames(mask: number): string[] {
  const out: string[] = [];
  let rest = mask >>> 0;
  for (const [bit, name] of X86_ISA_LEVELS) {
    if (rest & bit) out.push(name);
    rest &= ~bit;
  }
  for (let bit = 1; rest !== 0 && bit !== 0; bit = (bit << 1) >>> 0) {
    if (rest & bit) {
      out.push(`0x${bit.toString(16)}`);
      rest = (rest & ~bit) >>> 0;
    }
  }
  return out;
}

/** The bitmask a list of names (as `x86IsaNames` writes them) stands for. */
export function x86IsaMask(names: readonly string[]): number {
  let mask = 0;
  for (const n of names) {
    const known = X86_ISA_LEVELS.find(([, name]) => name === n);
    mask = (mask | (known ? known[0] : /^0x[0-9a-f]+$/.test(n) ? Number.parseInt(n, 16) : 0)) >>> 0;
  }
  return mask;
}

/**
 * Would the loader refuse an object needing `needed` on a CPU of level `cpu`? The check of
 * `dl_isa_level_check` (sysdeps/x86/dl-prop.h): every needed bit must be in the CPU's `isa_1`.
 */
export function x86IsaRefused(needed: number | undefined, cpu: number): boolean {
  return needed !== undefined && needed !== 0 && ((needed & cpu) >>> 0) !== needed >>> 0;
}
