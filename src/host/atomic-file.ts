import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { makeDirs } from './make-dirs.js';

/**
 * Writes through a temp file renamed into place: an interrupted run never leaves half a file. The
 * temp file is a dot-file in the same directory, so a reader that skips dot-files (nfd-worker in
 * `features.d`) never sees it at all. Missing parent directories are made.
 */
export function writeFileAtomic(path: string, data: string | Buffer, opts: { mode?: number } = {}): void {
  const dir = dirname(path);
  makeDirs(dir);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, data, { flag: 'wx', ...(opts.mode !== undefined ? { mode: opts.mode } : {}) });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
