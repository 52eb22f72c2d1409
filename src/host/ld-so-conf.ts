import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { resolveInRoot } from './object-source.js';

/** Nested includes followed, and files read in all, before the rest is ignored (a loop of includes ends). */
const MAX_DEPTH = 8;
const MAX_FILES = 256;

/**
 * The directories `/etc/ld.so.conf` names inside `root`, as ldconfig's `parse_conf` reads them:
 * `#` starts a comment, `include PATTERN…` reads other files (a relative pattern is taken against
 * the including file's directory; `*` and `?` match in the last component, files in name order),
 * `hwcap` lines are skipped, a `dir=TYPE` suffix is dropped. Each directory once, in order. The
 * loader never reads this file (only ldconfig does, to build the cache): it tells what the cache
 * was meant to hold.
 */
export function readLdSoConf(root: string, file = '/etc/ld.so.conf'): string[] {
  const out: string[] = [];
  const state = { files: 0 };
  parseConf(root, file, 0, out, state);
  return out;
}

function parseConf(root: string, file: string, depth: number, out: string[], state: { files: number }): void {
  if (depth > MAX_DEPTH || ++state.files > MAX_FILES) return;
  let text: string;
  try {
    text = readFileSync(resolveInRoot(root, file), 'latin1');
  } catch {
    return;
  }
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const words = line.split(/[\s,:]+/).filter(Boolean);
    if (words[0] === 'include') {
      for (const pattern of words.slice(1)) for (const f of expandPattern(root, posix.resolve(posix.dirname(file), pattern))) parseConf(root, f, depth + 1, out, state);
      continue;
    }
    if (words[0] === 'hwcap') continue;
    for (const w of words) {
      const dir = posix.normalize(w.replace(/=.*$/, ''));
      if (dir.startsWith('/') && !out.includes(dir)) out.push(dir.length > 1 ? dir.replace(/\/+$/, '') : dir);
    }
  }
}

/** The files a glob pattern names inside `root` (wildcards in the last component only), sorted as glob(3) sorts them. */
function expandPattern(root: string, pattern: string): string[] {
  const base = posix.basename(pattern);
  if (!/[*?[]/.test(base)) return [pattern];
  const dir = posix.dirname(pattern);
  const re = new RegExp(`^${base.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  let names: string[];
  try {
    names = readdirSync(resolveInRoot(root, dir));
  } catch {
    return [];
  }
  return names.filter((n) => !n.startsWith('.') && re.test(n)).sort().map((n) => posix.join(dir, n));
}
