import { posix } from 'node:path';
import type { ObjectFacts, ObjectSource, OpenResult } from '../../src/host/object-source.js';
import { loaderPlatform, type LoaderPlatform } from '../../src/host/platform.js';

/** The facts of a small x86-64 shared object; override what a test is about. */
export function lib(over: Partial<ObjectFacts> = {}): ObjectFacts {
  return { class: 64, endian: 'little', osabi: 0, type: 'dyn', machine: 62, dynamic: true, needed: [], flags1: 0, verneed: [], verdef: [], ...over };
}

/** An in-memory file system for the resolver: path → facts, a failure, or a link to another path. */
export class MemorySource implements ObjectSource {
  readonly opened: string[] = [];
  private readonly dirs = new Map<string, Set<string>>();

  constructor(private readonly files: Record<string, ObjectFacts | { error: string } | { link: string }>) {
    for (const p of Object.keys(files)) {
      let d = posix.dirname(p);
      let name = posix.basename(p);
      for (;;) {
        if (!this.dirs.has(d)) this.dirs.set(d, new Set());
        this.dirs.get(d)!.add(name);
        if (d === '/') break;
        name = posix.basename(d);
        d = posix.dirname(d);
      }
    }
  }

  list(dir: string): ReadonlySet<string> | undefined {
    return this.dirs.get(dir);
  }

  open(path: string): OpenResult {
    this.opened.push(path);
    let p = posix.normalize(path);
    for (let hops = 0; hops < 8; hops++) {
      const f = this.files[p];
      if (f === undefined) return { ok: false, missing: true };
      if ('error' in f) return { ok: false, missing: false, message: f.error };
      if ('link' in f) {
        p = f.link;
        continue;
      }
      return { ok: true, facts: f, id: p };
    }
    return { ok: false, missing: true };
  }
}

/** Debian x86-64 without hwcaps subdirectories: the directory itself only. */
export function platform(over: Partial<LoaderPlatform> = {}): LoaderPlatform {
  return { ...loaderPlatform(62, 64, '/', { hwcaps: [], legacySubdirs: false }), interpreter: undefined, ...over };
}
