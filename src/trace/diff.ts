import { posix } from 'node:path';
import { type EditOp, editScript, intern, levenshtein, type LocalAlignment, smithWaterman } from './distance.js';
import type { RunLog } from './events.js';
import { imagesOf, recordedTrace, openedObjects } from './images.js';
import { accessSequence, normalizePath } from './normalize.js';

interface ObjectKey {
  key: string;
  path: string;
  dev?: number;
  ino?: number;
}

/** Every object a run loaded (all its processes), keyed by the name asked for (a soname) or the file name. */
function objectsOf(log: RunLog): Map<string, ObjectKey> {
  const out = new Map<string, ObjectKey>();
  for (const img of imagesOf(log)) {
    const t = recordedTrace(img).trace;
    const objs = t.objects.length ? t.objects : openedObjects(img).map((p) => ({ name: p, path: p, via: 'path' as const }));
    for (const o of objs) {
      if (o.via === 'executable') continue;
      const key = o.name.includes('/') ? posix.basename(o.path) : o.name;
      if (!out.has(key)) out.set(key, { key, path: o.path, ...('dev' in o && o.dev !== undefined ? { dev: o.dev, ino: o.ino } : {}) });
    }
  }
  return out;
}

export interface TraceDiff {
  a: string;
  b: string;
  sets: {
    added: Array<{ name: string; path: string }>;
    removed: Array<{ name: string; path: string }>;
    /** The same name from another path. */
    moved: Array<{ name: string; a: string; b: string }>;
    /** Same name and path, another file (device/inode differ). */
    changed: Array<{ name: string; path: string }>;
    same: number;
  };
  sequences: {
    lengths: [number, number];
    distance: number;
    /** Omitted (only the distance is given) past MAX_SCRIPT_CELLS. */
    script?: EditOp[];
    local?: LocalAlignment;
  };
}

export function diffLogs(a: RunLog, b: RunLog): TraceDiff {
  const oa = objectsOf(a);
  const ob = objectsOf(b);
  const sets: TraceDiff['sets'] = { added: [], removed: [], moved: [], changed: [], same: 0 };
  for (const [k, x] of oa) {
    const y = ob.get(k);
    if (!y) sets.removed.push({ name: k, path: x.path });
    else if (normalizePath(x.path) !== normalizePath(y.path)) sets.moved.push({ name: k, a: x.path, b: y.path });
    else if (x.ino !== undefined && y.ino !== undefined && (x.ino !== y.ino || x.dev !== y.dev)) sets.changed.push({ name: k, path: y.path });
    else sets.same++;
  }
  for (const [k, y] of ob) if (!oa.has(k)) sets.added.push({ name: k, path: y.path });
  const sa = accessSequence(a.events);
  const sb = accessSequence(b.events);
  const [ia, ib] = intern([sa, sb]) as [Int32Array, Int32Array];
  const script = editScript(sa, sb);
  const local = smithWaterman(sa, sb);
  return { a: a.source, b: b.source, sets, sequences: { lengths: [sa.length, sb.length], distance: levenshtein(ia, ib), ...(script ? { script } : {}), ...(local ? { local } : {}) } };
}

export function renderDiff(d: TraceDiff): string {
  const l: string[] = [`--- ${d.a}`, `+++ ${d.b}`, 'objects:'];
  for (const x of d.sets.removed) l.push(`  - ${x.name} (${x.path})`);
  for (const x of d.sets.added) l.push(`  + ${x.name} (${x.path})`);
  for (const x of d.sets.moved) l.push(`  ~ ${x.name}: ${x.a} -> ${x.b}`);
  for (const x of d.sets.changed) l.push(`  ! ${x.name}: ${x.path} is another file (device/inode differ)`);
  l.push(`  ${d.sets.same} the same`);
  const s = d.sequences;
  l.push(`accesses (normalised): ${s.lengths[0]} vs ${s.lengths[1]}, Levenshtein distance ${s.distance}`);
  if (s.local) l.push(`  longest shared stretch (Smith-Waterman): a[${s.local.a[0]}..${s.local.a[1]}) ~ b[${s.local.b[0]}..${s.local.b[1]}), ${s.local.matches} matching, score ${s.local.score}`);
  if (s.script) for (const op of s.script) {
    if (op.op === 'delete') l.push(`  - ${op.a}`);
    else if (op.op === 'insert') l.push(`  + ${op.b}`);
    else if (op.op === 'substitute') l.push(`  ~ ${op.a} -> ${op.b}`);
  }
  else l.push('  (too long for an edit script: distance only)');
  return `${l.join('\n')}\n`;
}
