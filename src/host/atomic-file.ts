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
  // 'wx' never opens what is there (a file or a link someone planted); a name taken is tried again.
  // Math.random, not node:crypto: loading crypto would cost every gen and scan ~3 ms for a temp name.
  for (let attempt = 0; ; attempt++) {
    const tmp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
    try {
      writeFileSync(tmp, data, { flag: 'wx', ...(opts.mode !== undefined ? { mode: opts.mode } : {}) });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 8) continue;
      throw e;
    }
    try {
      renameSync(tmp, path);
      return;
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }
}
