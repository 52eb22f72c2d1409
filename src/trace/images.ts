import { posix } from 'node:path';
import { LA_SER, LA_SER_OF, type LoadTrace, type TraceCandidate, type TraceObject, type TraceSearch, type TraceVia } from '../host/load-trace.js';
import { num, str, type RunLog, type TraceEvent } from './events.js';

/** One program image a process ran (an exec starts the next), with its events in time order. */
export interface Image {
  pid: number;
  exe: string;
  events: TraceEvent[];
}

const isModule = (p: string) => posix.basename(p) === 'libcompat.so';

/**
 * A log's images: a `start` event of the audit role (or, with no loader events, of the files role;
 * or an `exec` of the strace backend) opens a new one in its process.
 */
export function imagesOf(log: RunLog): Image[] {
  const images: Image[] = [];
  const current = new Map<number, Image>();
  const hasAudit = log.events.some((e) => e.ev === 'start' && e.role === 'audit');
  for (const e of log.events) {
    const opens = (e.ev === 'start' && (hasAudit ? e.role === 'audit' : true)) || (e.ev === 'exec' && num(e, 'result') === 0);
    let img = current.get(e.pid);
    if (opens && !(img && e.ev === 'start' && !hasAudit && img.exe === str(e, 'exe'))) {
      img = { pid: e.pid, exe: str(e, 'exe') ?? str(e, 'path') ?? '', events: [] };
      current.set(e.pid, img);
      images.push(img);
    }
    if (!img) {
      img = { pid: e.pid, exe: '', events: [] };
      current.set(e.pid, img);
      images.push(img);
    }
    img.events.push(e);
  }
  return images;
}

const VIA_OF_FLAG: Record<number, TraceVia> = { [LA_SER.ORIG]: 'path', [LA_SER.LIBPATH]: 'ld_library_path', [LA_SER.RUNPATH]: 'runpath', [LA_SER.CONFIG]: 'cache', [LA_SER.DEFAULT]: 'default' };

export interface RecordedTrace {
  trace: LoadTrace;
  /** Paths of the objects mapped after start-up (`dlopen()`ed). */
  runtime: Set<string>;
  /** ns from the loader's first callback to `la_preinit` (all start-up objects mapped). */
  loadNs?: number;
}

interface PendingSearch {
  search: TraceSearch;
  tid: number;
}

/**
 * The image's `LoadTrace`, the shape the resolver predicts: objects in the order they were mapped,
 * with the name asked for, how it was found (the LA_SER flag of the candidate accepted), who asked;
 * each search with its candidates. The loader reuses an object already loaded without any search
 * callback, so a recording has no `loaded` searches.
 */
export function recordedTrace(img: Image): RecordedTrace {
  const objects: TraceObject[] = [];
  const searches: TraceSearch[] = [];
  const runtime = new Set<string>();
  const open = new Map<number, PendingSearch>();
  let preinit: number | undefined;
  const first = img.events.find((e) => e.ev === 'version' || e.ev === 'objopen')?.ts;
  const depthOf = new Map<string, number>();
  for (const e of img.events) {
    if (e.ev === 'preinit') preinit ??= e.ts;
    if (e.ev === 'search') {
      const name = str(e, 'name') ?? '';
      const flag = num(e, 'flag') ?? 0;
      if (isModule(name)) continue;
      if (flag === LA_SER.ORIG) {
        const s: TraceSearch = { name, requestedBy: str(e, 'by') ?? '', result: 'not-found', candidates: [] };
        searches.push(s);
        open.set(e.tid, { search: s, tid: e.tid });
        if (name.includes('/')) s.candidates.push({ path: name, via: 'path', laSer: LA_SER.ORIG, outcome: 'missing' });
      } else {
        const p = open.get(e.tid);
        const via = VIA_OF_FLAG[flag] ?? 'default';
        if (p) p.search.candidates.push({ path: name, via, laSer: flag, outcome: 'missing' });
      }
      continue;
    }
    if (e.ev !== 'objopen') continue;
    const path = str(e, 'path') ?? '';
    if (!path.includes('/') || isModule(path)) continue;
    const pending = open.get(e.tid);
    open.delete(e.tid);
    let via: TraceVia;
    let name = path;
    let neededBy: string | null = null;
    if (e.main === 1) via = 'executable';
    else if (!pending) via = 'interpreter';
    else {
      const s = pending.search;
      const cand = [...s.candidates].reverse().find((c: TraceCandidate) => c.path === path) ?? s.candidates[s.candidates.length - 1];
      if (cand) cand.outcome = 'accepted';
      s.result = 'found';
      s.path = path;
      via = cand?.via ?? 'path';
      name = s.name;
      neededBy = s.requestedBy;
    }
    const depth = neededBy === null ? 0 : (depthOf.get(neededBy) ?? 0) + 1;
    if (!depthOf.has(path)) depthOf.set(path, depth);
    const dev = num(e, 'dev');
    const ino = num(e, 'ino');
    objects.push({ name, path, via, laSer: LA_SER_OF[via], neededBy, depth, ...(dev !== undefined ? { dev } : {}), ...(ino !== undefined ? { ino } : {}) });
    if (preinit !== undefined) runtime.add(path);
  }
  const exe = objects.find((o) => o.via === 'executable')?.path ?? img.exe;
  return { trace: { version: 1, executable: exe, cwd: '', objects, searches }, runtime, ...(preinit !== undefined && first !== undefined ? { loadNs: preinit - first } : {}) };
}

/** For logs without loader events (strace, fs-record): shared objects the process opened, as objects. */
export function openedObjects(img: Image): string[] {
  const out: string[] = [];
  for (const e of img.events) {
    const p = str(e, 'path');
    if (e.ev === 'open' && (num(e, 'fd') ?? -1) >= 0 && p && /\.so(\.[0-9.]+)?$/.test(p) && !out.includes(p) && !isModule(p)) out.push(p);
  }
  return out;
}

/** The objects an image loaded: from loader events when there are any, else from its opens. */
export function loadedPaths(img: Image): string[] {
  const r = recordedTrace(img);
  return r.trace.objects.length > 0 ? r.trace.objects.map((o) => o.path) : openedObjects(img);
}
