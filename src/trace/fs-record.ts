import type { TraceEvent } from './events.js';
import { TraceError } from './errors.js';

/**
 * The origin prototype's fs-record logs (Go's log package, one line per FUSE operation):
 *
 *     2024/11/08 10:46:19 recorder.go:46: 1731062779714551943 Lookup /etc
 *     2024/11/08 10:46:19 recorder.go:46: 1731062779714600000 Open /etc/hosts	3
 *     2024/11/08 10:46:19 recorder.go:46: 1731062779714700000 Close /etc/hosts	3
 *     2024/11/08 10:46:19 recorder.go:46: 1731062779714800000 Complete
 *
 * fs-record saw one process through a FUSE mount: no pid, so every event is pid 1. Its stamps are
 * Unix nanoseconds, past 2^53: kept exact as offsets from the first one.
 */
const LINE = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+: (\d+) (Lookup|Open|Close|Complete)(?: (.*))?$/;

export function isFsRecordLog(text: string): boolean {
  const first = text.slice(0, 4096).split('\n').find((l) => l.trim().length > 0);
  return first !== undefined && LINE.test(first.trimEnd());
}

export function parseFsRecord(text: string, source: string): TraceEvent[] {
  const events: TraceEvent[] = [];
  let n = 0;
  let epoch: bigint | undefined;
  for (const raw of text.split('\n')) {
    n++;
    const line = raw.trimEnd();
    if (!line) continue;
    const m = LINE.exec(line);
    if (!m) throw new TraceError(source, `line ${n}: not an fs-record line`);
    const stamp = BigInt(m[1]!);
    epoch ??= stamp;
    const ts = Number(stamp - epoch);
    const base = { ts, pid: 1, tid: 1 };
    const rest = m[3] ?? '';
    switch (m[2]) {
      case 'Lookup':
        events.push({ ...base, ev: 'lookup', fn: 'lookup', path: rest, result: 0 });
        break;
      case 'Open':
      case 'Close': {
        const tab = rest.lastIndexOf('\t');
        const path = tab >= 0 ? rest.slice(0, tab) : rest;
        const fd = tab >= 0 ? Number(rest.slice(tab + 1)) : -1;
        events.push(m[2] === 'Open' ? { ...base, ev: 'open', fn: 'open', path, flags: 0, fd } : { ...base, ev: 'close', path, fd, result: 0 });
        break;
      }
      case 'Complete':
        events.push({ ...base, ev: 'complete' });
        break;
    }
  }
  return events;
}
