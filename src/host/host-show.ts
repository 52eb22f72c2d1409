import { machineName } from './elf.js';
import type { HostIndex } from './host-index.js';

export interface Candidate {
  path: string;
  machine: string;
  class: 32 | 64;
  versions: string[];
}

/**
 * soname → every file the index holds under that name, sorted by soname; a file reachable through
 * two directories (/lib and /usr/lib on merged-/usr systems) is listed once, by its first path.
 */
export function candidatesBySoname(index: HostIndex): Record<string, Candidate[]> {
  const out = new Map<string, Candidate[]>();
  const listed = new Set<string>();
  for (const [dir, entries] of Object.entries(index.dirs)) {
    for (const [name, key] of Object.entries(entries)) {
      if (key === null) continue;
      const f = index.objects[key]!;
      const soname = f.soname ?? name;
      if (soname !== name) continue;
      if (listed.has(`${soname}\0${key}`)) continue;
      listed.add(`${soname}\0${key}`);
      const list = out.get(soname) ?? [];
      list.push({ path: `${dir}/${name}`, machine: machineName(f.machine), class: f.class, versions: f.verdef });
      out.set(soname, list);
    }
  }
  return Object.fromEntries([...out].sort(([a], [b]) => a.localeCompare(b)));
}
