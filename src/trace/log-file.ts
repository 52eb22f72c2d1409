import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { writeFileAtomic } from '../host/atomic-file.js';
import { fileSystemError } from '../host/file-reader.js';
import type { LogHeader, RunLog, TraceEvent } from './events.js';
import { TraceError } from './errors.js';
import { isFsRecordLog, parseFsRecord } from './fs-record.js';
import { expandModuleLog } from './module-log.js';

/** A log larger than this is refused rather than read into memory. */
export const MAX_LOG_BYTES = 1024 * 1024 * 1024;

function readBounded(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw fileSystemError(path, e);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new TraceError(path, 'is a directory, expected a trace log');
    if (!st.isFile()) throw new TraceError(path, 'is not a regular file');
    if (st.size > MAX_LOG_BYTES) throw new TraceError(path, `is larger than the ${MAX_LOG_BYTES / 2 ** 20} MiB cap for trace logs`);
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
    }
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}

/** Lines of JSON objects; NUL padding (a killed process's unfinished log window) is skipped. */
export function parseJsonLines(text: string, source: string): unknown[] {
  const out: unknown[] = [];
  let line = 0;
  for (const raw of text.split('\n')) {
    line++;
    const l = raw.replace(/\0+/g, '').trim();
    if (!l) continue;
    try {
      out.push(JSON.parse(l));
    } catch {
      throw new TraceError(source, `line ${line}: not a JSON object (expected a compat trace log or an fs-record log)`);
    }
  }
  return out;
}

function isEvent(v: unknown): v is TraceEvent {
  const e = v as TraceEvent;
  return typeof e === 'object' && e !== null && typeof e.ev === 'string' && typeof e.ts === 'number' && typeof e.pid === 'number';
}

/**
 * A compat trace log (header line + events), a bare module log (events only: a file of
 * COMPAT_TRACE_DIR), or the prototype's fs-record log.
 */
export function readLog(path: string): RunLog {
  const text = readBounded(path);
  if (isFsRecordLog(text)) return { source: path, header: { compatTrace: 1, command: [], backend: 'fs-record', events: 'files' }, events: parseFsRecord(text, path) };
  const items = expandModuleLog(parseJsonLines(text, path), path);
  let header: LogHeader = { compatTrace: 1, command: [] };
  let i = 0;
  const first = items[0] as Record<string, unknown> | undefined;
  if (first && first.compatTrace !== undefined) {
    if (first.compatTrace !== 1) throw new TraceError(path, `trace log version ${String(first.compatTrace)} is not one this compat reads (1)`);
    header = first as unknown as LogHeader;
    i = 1;
  }
  const events: TraceEvent[] = [];
  for (; i < items.length; i++) {
    const e = items[i];
    if (!isEvent(e)) throw new TraceError(path, `event ${i + 1}: not a trace event (needs ts, pid and ev)`);
    events.push(e);
  }
  if (items.length === 0) throw new TraceError(path, 'empty: no header and no events');
  return { source: path, header, events: sortEvents(events) };
}

/** Time order; within a process, the order it wrote them in (equal stamps stay as written). */
export function sortEvents(events: TraceEvent[]): TraceEvent[] {
  let sorted = true;
  for (let i = 1; i < events.length && sorted; i++) sorted = events[i - 1]!.ts <= events[i]!.ts;
  if (sorted) return events;
  return events.map((e, i) => [e, i] as const).sort((a, b) => a[0].ts - b[0].ts || a[1] - b[1]).map(([e]) => e);
}

export function formatLog(header: LogHeader, events: TraceEvent[]): string {
  const parts = [JSON.stringify(header)];
  for (const e of events) parts.push(JSON.stringify(e));
  return `${parts.join('\n')}\n`;
}

export function writeLog(path: string, header: LogHeader, events: TraceEvent[]): void {
  writeFileAtomic(path, formatLog(header, events));
}
