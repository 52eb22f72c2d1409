import { closeSync, constants, futimesSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, rmSync, symlinkSync, chmodSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadEntry } from 'tar';
import { EntryError, kindOf, normalizeEntryPath } from './staged-tree.js';

const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const NOT_WRITTEN: Record<string, string> = {
  CharacterDevice: 'a device node',
  BlockDevice: 'a device node',
  FIFO: 'a FIFO',
  SparseFile: 'a sparse file',
};
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** Bounds on what one image may put on disk. */
export interface TreeLimits {
  /** Bytes of file content over all layers. */
  maxBytes: number;
  /** Entries over all layers (each costs an inode). */
  maxEntries: number;
}

/**
 * An image's root file system as its layers are applied, one after the other, into a private
 * directory (image-spec layer.md): a later entry replaces an earlier one, `.wh.NAME` removes NAME
 * of the layers below, `.wh..wh..opq` hides everything the layers below put in its directory.
 * Nothing is ever written through a link: every parent component must be a real directory, and
 * names are created with O_EXCL|O_NOFOLLOW after whatever was there is removed. Links themselves
 * may point anywhere (a root's absolute links mean its own `/`): they are laid down, not followed.
 * Device nodes, FIFOs and sparse entries are refused; setuid, setgid and sticky bits are dropped;
 * hard links must name a regular file already in the tree.
 */
export class LayerTree {
  private bytes = 0;
  private entries = 0;
  /** Paths this layer created anew, and directories of earlier layers it only touched. */
  private fresh = new Set<string>();
  private touched = new Set<string>();

  constructor(
    readonly root: string,
    private readonly limits: TreeLimits,
  ) {}

  /** Starts the next layer: whiteouts from here on apply to what is in the tree now. */
  nextLayer(): void {
    this.fresh = new Set();
    this.touched = new Set();
  }

  path(rel: string): string {
    return join(this.root, rel);
  }

  /** Applies one tar entry; a regular file's content is then written through the returned descriptor. */
  apply(entry: ReadEntry): number | undefined {
    if (++this.entries > this.limits.maxEntries) throw new EntryError(entry.path, `more than ${this.limits.maxEntries} entries in the image`);
    // `./` names the root itself: layers made by tar -C DIR . begin with it.
    if (entry.type === 'Directory' && entry.path.split('/').every((p) => p === '' || p === '.')) return undefined;
    const rel = normalizeEntryPath(entry.path);
    const base = rel.split('/').pop()!;
    if (base === OPAQUE) return void this.opaque(rel.slice(0, -OPAQUE.length - 1), entry.path);
    if (base.startsWith(WHITEOUT)) return void this.whiteout(rel.slice(0, rel.length - base.length) + base.slice(WHITEOUT.length), entry.path);
    const mode = (entry.mode ?? 0o644) & 0o777;
    if (FILE_TYPES.has(entry.type)) return this.file(rel, mode, entry);
    if (entry.type === 'Directory') this.dir(rel, mode, entry.path);
    else if (entry.type === 'SymbolicLink') this.replaceWith(rel, entry.path, () => symlinkSync(entry.linkpath ?? '', this.path(rel)));
    else if (entry.type === 'Link') this.hardLink(rel, entry);
    else throw new EntryError(entry.path, `${NOT_WRITTEN[entry.type] ?? `a ${entry.type} entry`}, which is never written`);
    return undefined;
  }

  /** Counts content written (the header's size is checked before, this catches a lying one). */
  wrote(n: number, entry: string): void {
    this.bytes += n;
    if (this.bytes > this.limits.maxBytes) throw this.tooLarge(entry);
  }

  private tooLarge(entry: string): EntryError {
    return new EntryError(entry, `the image unpacks to more than ${this.limits.maxBytes} bytes`);
  }

  /** Real directories down to `rel`'s parent; a link or a file on the way is a refusal. */
  private parents(rel: string, entry: string): void {
    const parts = rel.split('/');
    let cur = '';
    for (const part of parts.slice(0, -1)) {
      cur = cur ? `${cur}/${part}` : part;
      const kind = kindOf(this.path(cur));
      if (kind === 'dir') {
        // Something of this layer lies inside: an opaque marker or whiteout above must keep it.
        if (!this.fresh.has(cur)) this.touched.add(cur);
        continue;
      }
      if (kind === 'link') throw new EntryError(entry, `${cur} is a symbolic link, and nothing is written through one`);
      if (kind !== 'none') throw new EntryError(entry, `${cur} is not a directory`);
      mkdirSync(this.path(cur), 0o755);
      this.fresh.add(cur);
    }
  }

  /** Removes what is at `rel` (of an earlier entry or layer), then makes the new one. */
  private replaceWith(rel: string, entry: string, make: () => void): void {
    this.parents(rel, entry);
    const kind = kindOf(this.path(rel));
    if (kind === 'dir') rmSync(this.path(rel), { recursive: true, force: true });
    else if (kind !== 'none') unlinkSync(this.path(rel));
    make();
    this.fresh.add(rel);
  }

  private file(rel: string, mode: number, entry: ReadEntry): number {
    const size = entry.size ?? 0;
    if (this.bytes + size > this.limits.maxBytes) throw this.tooLarge(entry.path);
    let fd = -1;
    // Owner read/write kept so the tree can be read and removed; other bits as the layer says.
    this.replaceWith(rel, entry.path, () => (fd = openSync(this.path(rel), CREATE_NEW, mode | 0o600)));
    return fd;
  }

  private dir(rel: string, mode: number, entry: string): void {
    this.parents(rel, entry);
    const kind = kindOf(this.path(rel));
    // Owner access kept so the directory can be filled and removed.
    const m = mode | 0o700;
    if (kind === 'dir') {
      chmodSync(this.path(rel), m);
      if (!this.fresh.has(rel)) this.touched.add(rel);
      return;
    }
    this.replaceWith(rel, entry, () => mkdirSync(this.path(rel), m));
  }

  private hardLink(rel: string, entry: ReadEntry): void {
    const target = normalizeEntryPath(entry.linkpath ?? '');
    this.parents(target, entry.path);
    let st;
    try {
      st = lstatSync(this.path(target));
    } catch {
      throw new EntryError(entry.path, `a hard link to ${JSON.stringify(entry.linkpath)}, which is not in the image`);
    }
    if (!st.isFile()) throw new EntryError(entry.path, `a hard link to ${JSON.stringify(entry.linkpath)}, which is not a regular file`);
    if (target === rel) return;
    this.replaceWith(rel, entry.path, () => linkSync(this.path(target), this.path(rel)));
  }

  /** `.wh.NAME`: NAME of the layers below goes; what this layer made stays (layer.md). */
  private whiteout(rel: string, entry: string): void {
    if (rel === '' || rel.endsWith('/')) throw new EntryError(entry, 'a whiteout that names no file');
    this.parents(rel, entry);
    if (this.fresh.has(rel)) return;
    if (this.touched.has(rel)) return this.purge(rel);
    rmSync(this.path(rel), { recursive: true, force: true });
  }

  /** `.wh..wh..opq` in DIR: DIR's contents from the layers below go, whatever the order of entries. */
  private opaque(dir: string, entry: string): void {
    if (dir !== '') this.parents(`${dir}/${OPAQUE}`, entry);
    this.purge(dir);
    if (dir !== '' && !this.fresh.has(dir)) this.touched.add(dir);
  }

  /** Removes what lies under `dir` from earlier layers, keeping this layer's own entries. */
  private purge(dir: string): void {
    const at = dir === '' ? this.root : this.path(dir);
    for (const name of readdirSync(at)) {
      const rel = dir === '' ? name : `${dir}/${name}`;
      if (this.fresh.has(rel)) continue;
      if (this.touched.has(rel)) this.purge(rel);
      else rmSync(join(at, name), { recursive: true, force: true });
    }
  }
}

/** Writes a regular file's content as the parser hands it over; the descriptor is closed at its end. */
export function closeFile(fd: number, entry: ReadEntry): void {
  if (entry.mtime) futimesSync(fd, entry.atime ?? entry.mtime, entry.mtime);
  closeSync(fd);
}
