import type { TraceEvent } from './events.js';
import { LA_SER } from '../host/load-trace.js';

/**
 * The events of one module log (a file of COMPAT_TRACE_DIR: one process image), with the loader's
 * candidates written in the short form (native/log.h) expanded into whole `search` events.
 *
 * `[FLAG,KEEP,"REST"]` follows the search event it belongs to (or another short line of it): the
 * candidate is DIR/NAME, NAME being what that search asked for (the location cache's answer when it
 * gave one), and DIR the first KEEP bytes of the previous short candidate's directory followed by
 * REST. It takes the search event's stamp, pid and tid.
 */
export function expandModuleLog(items: unknown[]): unknown[] {
  if (!items.some(Array.isArray)) return items;
  const out: unknown[] = [];
  let search: TraceEvent | undefined;
  let dir = Buffer.alloc(0);
  for (const item of items) {
    if (!Array.isArray(item)) {
      out.push(item);
      const e = item as TraceEvent;
      search = e?.ev === 'search' && e.flag === LA_SER.ORIG ? e : undefined;
      continue;
    }
    const [flag, keep, rest] = item as unknown[];
    // A short line out of place is passed on as it is: the log's reader says what is wrong with it.
    if (!search || typeof flag !== 'number' || typeof keep !== 'number' || typeof rest !== 'string') {
      out.push(item);
      continue;
    }
    // KEEP counts bytes; a directory that was no UTF-8 cannot be rebuilt byte for byte, only kept in bounds.
    dir = Buffer.concat([dir.subarray(0, Math.max(0, Math.min(keep, dir.length))), Buffer.from(rest, 'utf8')]);
    const name = typeof search.answer === 'string' && search.answer !== '' ? search.answer : String(search.name ?? '');
    out.push({ ts: search.ts, pid: search.pid, tid: search.tid, ev: 'search', name: `${dir.toString('utf8')}/${name}`, flag });
  }
  return out;
}
