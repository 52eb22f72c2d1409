import { lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import type { ElfInfo } from './elf.js';
import { readElf } from './elf.js';
import { FormatError } from './file-reader.js';

/** What the loader learns about a file when it opens one: everything of ElfInfo but where it was read. */
export type ObjectFacts = Omit<ElfInfo, 'path'>;

/**
 * What opening a candidate gives. `id` identifies the file itself (`_dl_file_id`: device and inode
 * on a real file system) so one file reached under two names is loaded once.
 */
export type OpenResult = { ok: true; facts: ObjectFacts; id?: string; dev?: number; ino?: number } | { ok: false; missing: true } | { ok: false; missing: false; message: string };

/**
 * Where the resolver looks for objects. The disk is one source; a host index plus an application's
 * spec is another, so `deps` (on real files) and `check` (on an artifact) run the same loader rules.
 */
export interface ObjectSource {
  /** Entries of a directory, or undefined when it does not exist. */
  list(dir: string): ReadonlySet<string> | undefined;
  open(path: string): OpenResult;
}

const MISSING: OpenResult = { ok: false, missing: true };

export function factsOf(elf: ElfInfo): ObjectFacts {
  const { path: _path, ...facts } = elf;
  return facts;
}

/** Real files, optionally inside a root directory whose absolute symbolic links stay inside it. */
export class DiskSource implements ObjectSource {
  private readonly dirs = new Map<string, ReadonlySet<string> | undefined>();
  private readonly objects = new Map<string, OpenResult>();

  constructor(readonly root = '/') {}

  /** The host path for a path as the loader inside `root` sees it. */
  hostPath(p: string): string {
    return this.root === '/' ? p : resolveInRoot(this.root, p);
  }

  list(dir: string): ReadonlySet<string> | undefined {
    const key = dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
    if (this.dirs.has(key)) return this.dirs.get(key);
    let names: ReadonlySet<string> | undefined;
    try {
      names = new Set(readdirSync(this.hostPath(key)));
    } catch {
      names = undefined;
    }
    this.dirs.set(key, names);
    return names;
  }

  open(path: string): OpenResult {
    let r = this.objects.get(path);
    if (!r) {
      r = openOnDisk(this.hostPath(path));
      this.objects.set(path, r);
    }
    return r;
  }
}

function openOnDisk(hostPath: string): OpenResult {
  try {
    const facts = factsOf(readElf(hostPath));
    const st = statSync(hostPath);
    return { ok: true, facts, id: `${st.dev}:${st.ino}`, dev: st.dev, ino: st.ino };
  } catch (e) {
    if (e instanceof FormatError) {
      if (e.kind === 'not-found') return MISSING;
      // open(2) of a directory succeeds; the loader's read then fails and the load stops (open_verify).
      if (e.kind === 'is-directory') return { ok: false, missing: false, message: `${hostPath}: cannot read file data: Is a directory` };
      return { ok: false, missing: false, message: e.message };
    }
    throw e;
  }
}

/** Follows symbolic links component by component as if `root` were `/`. */
export function resolveInRoot(root: string, p: string): string {
  const parts = posix.normalize(p).split('/').filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    if (part === '.') continue;
    const host = posix.join(root, ...done, part);
    let target: string | undefined;
    try {
      if (lstatSync(host).isSymbolicLink()) target = readlinkSync(host);
    } catch {
      return posix.join(root, ...done, part, ...parts);
    }
    if (target === undefined) {
      done.push(part);
      continue;
    }
    if (++hops > 40) return host;
    if (target.startsWith('/')) done.length = 0;
    parts.unshift(...target.split('/').filter(Boolean));
  }
  return posix.join(root, ...done);
}

/**
 * Records `path` in a directory listing (directory → names), with every ancestor up to `/` (or
 * `stop`) as a directory of its parent: files laid over a root exist the way unpacking them would.
 */
export function addToListing(dirs: Map<string, Set<string>>, path: string, stop?: string): void {
  let d = posix.dirname(path);
  let name = posix.basename(path);
  for (;;) {
    let s = dirs.get(d);
    if (!s) dirs.set(d, (s = new Set()));
    s.add(name);
    if (d === '/' || d === stop) break;
    name = posix.basename(d);
    d = posix.dirname(d);
  }
}
