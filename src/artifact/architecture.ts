/**
 * OCI architecture names (as image indexes use them) for ELF machine names. Apart from spec.ts so
 * that `gen`, which writes specs but never reads one, does not load the spec validator.
 */
export function ociArchitecture(machine: string, cls: 32 | 64): string {
  const map: Record<string, string> = { x86_64: 'amd64', i386: '386', aarch64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390: 's390x', riscv: 'riscv64', loongarch: 'loong64' };
  return map[machine] ?? (cls === 64 ? `${machine}` : machine);
}
