import { readdirSync } from 'node:fs';
import { probeFile } from '../../src/host/elf.js';

/** A deterministic sample of the machine's own objects: every k-th dynamically linked ELF of `dir`. */
export function dynamicElfSample(dir: string, count: number): string[] {
  const all = readdirSync(dir)
    .sort()
    .map((f) => `${dir}/${f}`)
    .filter((p) => {
      try {
        const k = probeFile(p);
        return k.kind === 'elf' && k.elf.dynamic;
      } catch {
        return false;
      }
    });
  const step = Math.max(1, Math.floor(all.length / count));
  return all.filter((_, i) => i % step === 0).slice(0, count);
}
