import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** An output directory that cannot be made; the message names the path and why. */
export class MakeDirsError extends Error {
  readonly code: string;
  constructor(readonly path: string, code: string, why: string) {
    super(`${path}: cannot create directory: ${why}`);
    this.code = code;
  }
}

const WHY: Record<string, string> = {
  ENOENT: 'the file system refuses new entries there',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a component is not a directory',
  ENOSPC: 'no space left on device',
};

/**
 * `mkdir -p`, one component at a time. Node's recursive mkdir retries forever where a parent
 * exists but refuses children with ENOENT (`/proc/nope`); here every failure is final.
 * Returns the first directory it created, if any (so a caller can remove what it made).
 */
export function makeDirs(path: string): string | undefined {
  const target = resolve(path);
  const missing: string[] = [];
  for (let p = target; ; p = dirname(p)) {
    const kind = kindOf(p);
    if (kind === 'dir') break;
    if (kind === 'other') throw new MakeDirsError(p, 'ENOTDIR', 'exists and is not a directory');
    missing.push(p);
    if (dirname(p) === p) break;
  }
  missing.reverse();
  for (const p of missing) {
    try {
      mkdirSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'EEXIST' && kindOf(p) === 'dir') continue;
      throw new MakeDirsError(p, code, WHY[code] ?? (e as Error).message);
    }
  }
  return missing[0];
}

function kindOf(p: string): 'dir' | 'other' | 'none' {
  try {
    return statSync(p).isDirectory() ? 'dir' : 'other';
  } catch {
    return 'none';
  }
}
