import { statSync } from 'node:fs';
import { posix } from 'node:path';
import type { HostIndex } from './host-index.js';

export interface DirFinding {
  /** The directory as it was given. */
  dir: string;
  problem: string;
}

/**
 * Extra directories (`--path`) that added nothing to the index, and why: a typo in a path must not
 * look like a node without the libraries.
 */
export function extraDirFindings(index: HostIndex): DirFinding[] {
  const found: DirFinding[] = [];
  for (const given of index.extraDirs) {
    const problem = problemOf(posix.resolve(given), index);
    if (problem) found.push({ dir: given, problem });
  }
  return found;
}

function problemOf(dir: string, index: HostIndex): string | undefined {
  if (!(dir in index.dirs)) return whyUnlisted(dir);
  const indexed = Object.entries(index.dirs).filter(([d]) => d === dir || d.startsWith(`${dir}/`));
  return indexed.some(([, entries]) => Object.values(entries).some((key) => key !== null)) ? undefined : 'no libraries found';
}

function whyUnlisted(dir: string): string {
  try {
    return statSync(dir).isDirectory() ? 'cannot be read' : 'is not a directory';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
  }
}
