import type { TraceEvent } from './events.js';
import { TraceError } from './errors.js';
import { LA_SER } from '../host/load-trace.js';

/**
 * The most events one module log may expand to. A `[0,N]` line of a few bytes stands for a whole
 * search, so a crafted log could otherwise grow without bound in memory; this is about what the
 * largest log read whole holds (1 GiB of ~100-byte events).
 */
export const MAX_EXPANDED_EVENTS = 10_000_000;

interface Tried {
  flag: number;
  dir: Buffer;
}

/**
 * The events of one module log (a file of COMPAT_TRACE_DIR: one process image), with the loader's
 * candidates written in the short forms (native/log.h) expanded into whole `search` events. Each
 * short line belongs to the search event before it: the candidate is DIR/NAME, NAME being what
 * that search asked for (the location cache's answer when it gave one), with the search's stamp,
 * pid and tid.
 *
 * - `[FLAG,KEEP,"REST"]`: DIR is the first KEEP bytes of the previous short candidate's directory
 *   (of either form), then REST.
 * - `[0,N]`: the next N candidates repeat, flag and directory, those the previous search (the last
 *   one that tried any in short form) tried at the same places.
 */
export function expandModuleLog(items: unknown[], source: string, limit = MAX_EXPANDED_EVENTS): unknown[] {
  if (!items.some(Array.isArray)) return items;
  const out: unknown[] = [];
  let search: TraceEvent | undefined;
  let last: Buffer = Buffer.alloc(0);
  let previous: Tried[] = [];
  let current: Tried[] = [];
  const emit = (s: TraceEvent, t: Tried) => {
    if (out.length >= limit) throw new TraceError(source, `its short candidate lines expand to more than ${limit} events`);
    current.push(t);
    const name = typeof s.answer === 'string' && s.answer !== '' ? s.answer : String(s.name ?? '');
    out.push({ ts: s.ts, pid: s.pid, tid: s.tid, ev: 'search', name: `${t.dir.toString('utf8')}/${name}`, flag: t.flag });
  };
  for (const item of items) {
    if (!Array.isArray(item)) {
      out.push(item);
      const e = item as TraceEvent;
      search = e?.ev === 'search' && e.flag === LA_SER.ORIG ? e : undefined;
      if (search && current.length > 0) [previous, current] = [current, []];
      continue;
    }
    const [flag, a, b] = item as unknown[];
    // A short line out of place is passed on as it is: the log's reader says what is wrong with it.
    if (!search || typeof flag !== 'number' || typeof a !== 'number') out.push(item);
    else if (flag === 0) {
      for (let k = 0; k < a; k++) {
        const t = previous[current.length];
        if (!t) break;
        last = t.dir;
        emit(search, t);
      }
    } else if (typeof b === 'string') {
      // KEEP counts bytes; a directory that was no UTF-8 cannot be rebuilt byte for byte, only kept in bounds.
      last = Buffer.concat([last.subarray(0, Math.max(0, Math.min(a, last.length))), Buffer.from(b, 'utf8')]);
      emit(search, { flag, dir: last });
    } else out.push(item);
  }
  return out;
}
