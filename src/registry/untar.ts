import { closeSync, createReadStream, futimesSync, writeSync } from 'node:fs';
import type { ReadEntry } from 'tar';
import { closeQuietly, EntryError, normalizeEntryPath, type StagedTree } from './staged-tree.js';

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const NOT_WRITTEN: Record<string, string> = {
  Link: 'a hard link',
  CharacterDevice: 'a device node',
  BlockDevice: 'a device node',
  FIFO: 'a FIFO',
};

/**
 * Unpacks a tar (+gzip) layer into the staged tree. node-tar only parses: each entry is written here
 * by hand, so that every entry lies under the layer's title (as ORAS requires), regular
 * files, directories and relative symbolic links only, nothing setuid, and each name made once.
 * node-tar's own complaints (bad checksums, truncation, unknown entry types, a gzip bomb) are
 * refusals too, never warnings skipped in silence.
 */
export async function extractInto(tree: StagedTree, file: string, title: string): Promise<void> {
  const { Parser } = await import('tar');
  return new Promise((resolve, reject) => {
    let failed = false;
    const open: { fd?: number } = {};
    const input = createReadStream(file);
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      closeQuietly(open.fd);
      open.fd = undefined;
      input.unpipe();
      input.destroy();
      reject(e);
    };
    const parser = new Parser({ strict: true, onwarn: (code, message, data) => fail(tarRefusal(`${code}: ${String(message)}`, data as Located, title)) });
    parser.on('error', (e: Error & Located) => fail(tarRefusal(e.message, e, title)));
    parser.on('ignoredEntry', (entry: ReadEntry) => fail(new EntryError(entry.path, `a ${entry.type} entry, which is never written`)));
    parser.on('entry', (entry: ReadEntry) => {
      if (failed) return void entry.resume();
      try {
        writeEntry(tree, entry, title, open, () => failed, fail);
      } catch (e) {
        fail(e);
      }
    });
    parser.on('end', () => {
      if (!failed) resolve();
    });
    input.on('error', fail);
    input.pipe(parser);
  });
}

/** What node-tar attaches to a warning or error: the header or entry it was about, if any. */
interface Located {
  header?: { path?: string };
  entry?: { path?: string };
}

function tarRefusal(message: string, data: Located | undefined, title: string): EntryError {
  return new EntryError(data?.header?.path ?? data?.entry?.path ?? title, message.split('\n')[0]!);
}

/** Where an entry goes in the tree, or why it does not. */
function placeOf(entry: ReadEntry, title: string): string {
  const rel = normalizeEntryPath(entry.path);
  if (rel !== title && !rel.startsWith(`${title}/`)) throw new EntryError(entry.path, `it lies outside the layer's title ${JSON.stringify(title)}`);
  if ((entry.mode ?? 0) & 0o6000) throw new EntryError(entry.path, 'a setuid or setgid file');
  return rel;
}

function writeEntry(tree: StagedTree, entry: ReadEntry, title: string, open: { fd?: number }, failed: () => boolean, fail: (e: unknown) => void): void {
  const rel = placeOf(entry, title);
  if (FILE_TYPES.has(entry.type)) {
    const fd = tree.file(rel, entry.mode ?? 0o644, entry.path);
    open.fd = fd;
    entry.on('data', (chunk: Buffer) => {
      // After a failure the descriptor is closed and its number may be reused: write nothing more.
      if (failed()) return;
      try {
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      } catch (e) {
        fail(new EntryError(entry.path, (e as Error).message));
      }
    });
    entry.on('end', () => {
      if (failed()) return;
      try {
        if (entry.mtime) futimesSync(fd, entry.atime ?? entry.mtime, entry.mtime);
        open.fd = undefined;
        closeSync(fd);
      } catch (e) {
        fail(new EntryError(entry.path, (e as Error).message));
      }
    });
    return;
  }
  if (entry.type === 'Directory') tree.dir(rel, entry.mode ?? 0o755, entry.path);
  else if (entry.type === 'SymbolicLink') tree.symlink(rel, entry.linkpath ?? '', entry.path);
  else throw new EntryError(entry.path, `${NOT_WRITTEN[entry.type] ?? `a ${entry.type} entry`}, which is never written`);
  entry.resume();
}
