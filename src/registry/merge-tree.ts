import { accessSync, constants, lstatSync, readdirSync, readlinkSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EntryError, kindOf, type Kind, type StagedTree } from './staged-tree.js';

export interface Move {
  from: string;
  to: string;
  /** `to` relative to DIR, to check its parents again just before the rename. */
  rel: string;
}

const WHAT: Record<Kind, string> = { dir: 'a directory', file: 'a file', link: 'a symbolic link', other: 'neither a file nor a directory', none: 'nothing' };
/** As Linux's MAXSYMLINKS: more hops than this is a loop. */
const MAX_HOPS = 40;

/**
 * How the staged tree goes into DIR, decided before anything moves. A name DIR lacks is moved in
 * whole; a directory both have is merged; a file or link in DIR is replaced by rename (atomic, and
 * never written through). A link in DIR where the artifact has a directory, or a directory where
 * it has a file, is a refusal: nothing is written through a link in DIR, no directory removed.
 */
export function planMerge(tree: StagedTree, dir: string): Move[] {
  const moves: Move[] = [];
  const checked = new Set<string>();
  const dev = lstatSync(tree.root).dev;
  const walk = (rel: string) => {
    const into = rel ? join(dir, rel) : dir;
    for (const name of readdirSync(tree.path(rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const staged = kindOf(tree.path(r));
      const there = kindOf(join(dir, r));
      const entry = tree.origin.get(r) ?? r;
      if (there === 'none' || (staged !== 'dir' && (there === 'file' || there === 'link'))) {
        if (!checked.has(into)) checkTarget(into, dev, entry);
        checked.add(into);
        moves.push({ from: tree.path(r), to: join(dir, r), rel: r });
      } else if (staged === 'dir' && there === 'dir') walk(r);
      else if (there === 'link') throw new EntryError(entry, `${join(dir, r)} is a symbolic link, and nothing is written through one`);
      else throw new EntryError(entry, `${join(dir, r)} is ${WHAT[there]}, and the artifact has ${WHAT[staged]} there`);
    }
  };
  walk('');
  return moves;
}

/** A rename into `into` must not fail half-way: it must be writable and on the staging area's file system. */
function checkTarget(into: string, dev: number, entry: string): void {
  try {
    accessSync(into, constants.W_OK | constants.X_OK);
  } catch {
    throw new EntryError(entry, `${into} is not writable`);
  }
  if (statSync(into).dev !== dev) throw new EntryError(entry, `${into} is on another file system than the staging directory`);
}

/**
 * Moves the planned names in. Each target's parents are checked once more right before its
 * rename, so a directory swapped for a link since the plan is not followed (Node has no
 * renameat, so a window of a few system calls remains against someone who can write in DIR).
 */
export function applyMoves(moves: Move[], dir: string): void {
  for (const m of moves) {
    const parts = m.rel.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const p = join(dir, ...parts.slice(0, i));
      if (kindOf(p) !== 'dir') throw new Error(`${p}: changed while writing into ${dir}; stopped before writing through it`);
    }
    renameSync(m.from, m.to);
  }
}

/** Every link the artifact brings must resolve inside DIR once merged, read on disk hop by hop. */
export function checkLinks(tree: StagedTree, dir: string, rel = ''): void {
  for (const name of readdirSync(tree.path(rel))) {
    const r = rel ? `${rel}/${name}` : name;
    const kind = kindOf(tree.path(r));
    if (kind === 'dir') checkLinks(tree, dir, r);
    else if (kind === 'link' && !resolvesInside(tree, dir, r)) {
      throw new EntryError(tree.origin.get(r) ?? r, `the link ${r} -> ${readlinkSync(tree.path(r))} leads out of ${dir}`);
    }
  }
}

/**
 * Resolves the link at `rel` as realpath(3) would, over DIR as it will be after the merge (a
 * staged name first, else DIR's own). Textual checks are not enough: `s4 -> .` makes `s4/..`
 * the parent of DIR although the text stays inside.
 */
function resolvesInside(tree: StagedTree, dir: string, rel: string): boolean {
  const stack = rel.split('/').slice(0, -1);
  let queue: string[] = [];
  let hops = 0;
  const follow = (target: string): boolean => {
    if (++hops > MAX_HOPS) return false;
    if (target.startsWith('/')) {
      if (target !== dir && !target.startsWith(`${dir}/`)) return false;
      stack.length = 0;
      target = target.slice(dir.length);
    }
    queue = [...target.split('/'), ...queue];
    return true;
  };
  if (!follow(readlinkSync(tree.path(rel)))) return false;
  while (queue.length) {
    const part = queue.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return false;
      stack.pop();
      continue;
    }
    stack.push(part);
    const target = linkAt(tree, dir, stack.join('/'));
    if (target === undefined) continue;
    stack.pop();
    if (!follow(target)) return false;
  }
  return true;
}

/** The link text at `rel` in the merged view, or undefined when it is not a link. */
function linkAt(tree: StagedTree, dir: string, rel: string): string | undefined {
  const staged = kindOf(tree.path(rel));
  if (staged === 'link') return readlinkSync(tree.path(rel));
  if (staged !== 'none') return undefined;
  const there = join(dir, rel);
  return kindOf(there) === 'link' ? readlinkSync(there) : undefined;
}
