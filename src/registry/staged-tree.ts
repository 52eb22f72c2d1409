import { closeSync, constants, lstatSync, mkdirSync, openSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/** An artifact entry (a layer title or a tar entry) that is not written; the message names it. */
export class EntryError extends Error {
  constructor(
    readonly entry: string,
    readonly why: string,
  ) {
    super(`refusing ${JSON.stringify(entry)}: ${why}`);
    this.name = 'EntryError';
  }
}

export type Kind = 'none' | 'dir' | 'file' | 'link' | 'other';

/** What is at `path` itself (a link is reported, never followed). */
export function kindOf(path: string): Kind {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'none';
    throw e;
  }
  if (st.isSymbolicLink()) return 'link';
  if (st.isDirectory()) return 'dir';
  return st.isFile() ? 'file' : 'other';
}

/**
 * A path inside the artifact as components joined by `/`: absolute paths and `..` are refused
 * (never stripped, as tar does by default), `.` and empty components dropped.
 */
export function normalizeEntryPath(path: string): string {
  if (!path || path.includes('\0')) throw new EntryError(path, 'an empty name or one with a NUL byte');
  if (path.startsWith('/')) throw new EntryError(path, 'an absolute path');
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new EntryError(path, 'a path with ".."');
  if (parts.length === 0) throw new EntryError(path, 'it names the output directory itself');
  return parts.join('/');
}

const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * The artifact's files as they are written, in a fresh private directory (mode 0700, made by
 * mkdtemp): nothing else can change it while the pull works, so a component checked with lstat
 * stays what it was. Every component is resolved on disk: a parent that is a link (one the
 * artifact made) is a refusal, and a name is created only if nothing is there yet.
 */
export class StagedTree {
  /** Which artifact entry made each path (implicit parents included), for refusals found later. */
  readonly origin = new Map<string, string>();

  constructor(readonly root: string) {}

  path(rel: string): string {
    return join(this.root, rel);
  }

  /** Real directories down to `rel`'s parent, made as needed. */
  parents(rel: string, entry: string): void {
    const parts = rel.split('/');
    let cur = '';
    for (const part of parts.slice(0, -1)) {
      cur = cur ? `${cur}/${part}` : part;
      const kind = kindOf(this.path(cur));
      if (kind === 'none') {
        mkdirSync(this.path(cur), 0o755);
        this.origin.set(cur, entry);
      } else if (kind === 'link') throw new EntryError(entry, `${cur} is a symbolic link in the artifact, and nothing is written through one`);
      else if (kind !== 'dir') throw new EntryError(entry, `${cur} is not a directory`);
    }
  }

  dir(rel: string, mode: number, entry: string): void {
    this.parents(rel, entry);
    const kind = kindOf(this.path(rel));
    if (kind === 'dir') return;
    if (kind !== 'none') throw new EntryError(entry, 'another entry of the artifact is already there');
    // Owner access is kept so the directory can be filled; the archive's other bits are honoured.
    mkdirSync(this.path(rel), (mode & 0o777) | 0o700);
    this.origin.set(rel, entry);
  }

  /** A new file, open for writing; O_EXCL and O_NOFOLLOW: never an existing name, never through a link. */
  file(rel: string, mode: number, entry: string): number {
    this.parents(rel, entry);
    const fd = this.create(entry, () => openSync(this.path(rel), CREATE_NEW, mode & 0o777));
    this.origin.set(rel, entry);
    return fd;
  }

  symlink(rel: string, target: string, entry: string): void {
    if (target.startsWith('/')) throw new EntryError(entry, `a link to the absolute path ${JSON.stringify(target)}`);
    this.parents(rel, entry);
    this.create(entry, () => symlinkSync(target, this.path(rel)));
    this.origin.set(rel, entry);
  }

  /** Moves a verified blob in under `rel` (rename would replace a name: it is checked free first). */
  place(rel: string, from: string, entry: string): void {
    this.parents(rel, entry);
    if (kindOf(this.path(rel)) !== 'none') throw new EntryError(entry, 'another entry of the artifact is already there');
    renameSync(from, this.path(rel));
    this.origin.set(rel, entry);
  }

  private create<T>(entry: string, make: () => T): T {
    try {
      return make();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new EntryError(entry, 'another entry of the artifact is already there');
      throw e;
    }
  }
}

export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined) return;
  try {
    closeSync(fd);
  } catch {
    // Already failing: the first error is the one reported.
  }
}
