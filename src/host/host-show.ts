import { machineName } from './elf.js';
import type { HostIndex } from './host-index.js';

export interface Candidate {
  path: string;
  machine: string;
  class: 32 | 64;
  versions: string[];
}

/** soname → every file the index holds under that name (by DT_SONAME or file name), sorted by soname. */
export function candidatesBySoname(index: HostIndex): Record<string, Candidate[]> {
  const out = new Map<string, Candidate[]>();
  for (const [dir, entries] of Object.entries(index.dirs)) {
    for (const [name, key] of Object.entries(entries)) {
      if (key === null) continue;
      const f = index.objects[key]!;
      const soname = f.soname ?? name;
      if (soname !== name) continue;
      const list = out.get(soname) ?? [];
      const path = `${dir}/${name}`;
      if (!list.some((c) => c.path === path)) list.push({ path, machine: machineName(f.machine), class: f.class, versions: f.verdef });
      out.set(soname, list);
    }
  }
  return Object.fromEntries([...out].sort(([a], [b]) => a.localeCompare(b)));
}
