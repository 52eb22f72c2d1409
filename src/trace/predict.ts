import { realpathSync } from 'node:fs';
import type { LoadTrace, TraceObject } from '../host/load-trace.js';
import type { RunLog } from './events.js';
import { type Image, imagesOf, recordedTrace } from './images.js';

export type Side = Pick<TraceObject, 'name' | 'path'> & Partial<Pick<TraceObject, 'via' | 'neededBy' | 'dev' | 'ino'>>;

export interface PredictRow {
  /** The name asked for (a soname), or `executable` / `interpreter`. */
  key: string;
  predicted?: Side;
  recorded?: Side;
  /** Fields that differ where both sides have them. */
  differ: string[];
  /** Recorded after start-up (dlopen): what no static reading can predict. */
  runtime?: boolean;
}

export interface PredictReport {
  subject: string;
  log: string;
  pid: number;
  agree: number;
  rows: PredictRow[];
}

const keyOf = (o: Side) => (o.via === 'executable' || o.via === 'interpreter' ? o.via : o.name);
const FIELDS = ['path', 'via', 'neededBy', 'dev', 'ino'] as const;

/** The image of the log that ran `program` (else the first one the loader mapped objects for). */
export function imageFor(log: RunLog, program?: string): Image | undefined {
  const images = imagesOf(log).filter((i) => recordedTrace(i).trace.objects.length > 0);
  if (program) {
    let real = program;
    try {
      real = realpathSync(program);
    } catch {
      // compared as given
    }
    const hit = images.find((i) => {
      const exe = recordedTrace(i).trace.executable;
      return exe === program || exe === real;
    });
    if (hit) return hit;
  }
  return images[0];
}

/**
 * The resolver's prediction against a run, object by object: the same `LoadTrace` fields side by
 * side. Objects only the run has are what reading the files cannot see (dlopen, or a resolver bug
 * when mapped at start-up); objects only the prediction has were never loaded.
 */
export function comparePrediction(subject: string, predicted: Side[], log: RunLog, img: Image): PredictReport {
  const rec = recordedTrace(img);
  const recorded = new Map(rec.trace.objects.map((o) => [keyOf(o), o]));
  const rows: PredictRow[] = [];
  let agree = 0;
  const seen = new Set<string>();
  for (const p of predicted) {
    const k = keyOf(p);
    if (seen.has(k)) continue;
    seen.add(k);
    const r = recorded.get(k);
    if (!r) {
      rows.push({ key: k, predicted: p, differ: [] });
      continue;
    }
    const differ = FIELDS.filter((f) => p[f] !== undefined && r[f] !== undefined && p[f] !== r[f]);
    if (differ.length === 0) agree++;
    else rows.push({ key: k, predicted: p, recorded: r, differ: [...differ] });
  }
  for (const [k, r] of recorded) if (!seen.has(k)) rows.push({ key: k, recorded: r, differ: [], ...(rec.runtime.has(r.path) ? { runtime: true } : {}) });
  return { subject, log: log.source, pid: img.pid, agree, rows };
}

export function predictedObjects(trace: LoadTrace): Side[] {
  return trace.objects;
}

export function renderPredict(r: PredictReport): string {
  const l = [`${r.subject} vs ${r.log} (pid ${r.pid}): ${r.agree} object${r.agree === 1 ? '' : 's'} as predicted`];
  for (const row of r.rows) {
    if (!row.recorded) l.push(`  predicted, not loaded: ${row.key} => ${row.predicted!.path}`);
    else if (!row.predicted) l.push(`  loaded, not predicted: ${row.key} => ${row.recorded.path} [${row.recorded.via}]${row.runtime ? ' (dlopen at run time)' : ''}`);
    else l.push(`  ${row.key}: ${row.differ.map((f) => `${f} predicted ${String(row.predicted![f as keyof Side])}, recorded ${String(row.recorded![f as keyof Side])}`).join('; ')}`);
  }
  return `${l.join('\n')}\n`;
}
