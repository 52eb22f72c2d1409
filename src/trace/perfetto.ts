import { posix } from 'node:path';
import { num, str, type RunLog, type TraceEvent } from './events.js';

/** Chrome trace-event format (what ui.perfetto.dev and chrome://tracing open): `ts`/`dur` in µs. */
export interface ChromeEvent {
  name: string;
  ph: 'X' | 'i' | 'M';
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  s?: 't';
  cat?: string;
  args?: Record<string, unknown>;
}

interface Slice {
  start: number;
  end: number;
  name: string;
  cat: string;
  args: Record<string, unknown>;
}

/** open → close of the same fd in the same process; an fd never closed ends with the process's last event. */
function fileSlices(events: TraceEvent[], lastTs: number): Map<number, Slice[]> {
  const byTid = new Map<number, Slice[]>();
  const openFds = new Map<number, { e: TraceEvent; slice: Slice }>();
  const add = (tid: number, s: Slice) => (byTid.get(tid) ?? byTid.set(tid, []).get(tid)!).push(s);
  for (const e of events) {
    if (e.ev === 'open' && (num(e, 'fd') ?? -1) >= 0) {
      const path = str(e, 'path') ?? '';
      const slice: Slice = { start: e.ts, end: lastTs, name: posix.basename(path) || path, cat: 'file', args: { path, fd: e.fd, flags: e.flags, fn: e.fn, unclosed: true } };
      const prev = openFds.get(num(e, 'fd')!);
      if (prev) prev.slice.end = e.ts; // the fd was reused without a close we saw: end the old one here
      openFds.set(num(e, 'fd')!, { e, slice });
      add(e.tid, slice);
    } else if (e.ev === 'close') {
      const o = openFds.get(num(e, 'fd') ?? -1);
      if (o) {
        o.slice.end = e.ts;
        delete o.slice.args.unclosed;
        openFds.delete(num(e, 'fd')!);
      }
    }
  }
  return byTid;
}

/** The loader's work per object: from the name's first search to the object mapped. */
function loadSlices(events: TraceEvent[]): Map<number, Slice[]> {
  const byTid = new Map<number, Slice[]>();
  const pending = new Map<number, TraceEvent>();
  for (const e of events) {
    if (e.ev === 'search' && e.flag === 1) pending.set(e.tid, e);
    else if (e.ev === 'objopen') {
      const s = pending.get(e.tid);
      pending.delete(e.tid);
      const path = str(e, 'path') ?? '';
      const start = s?.ts ?? e.ts;
      (byTid.get(e.tid) ?? byTid.set(e.tid, []).get(e.tid)!).push({ start, end: e.ts, name: `load ${s ? str(s, 'name') : posix.basename(path)}`, cat: 'loader', args: { path, lmid: e.lmid } });
    }
  }
  return byTid;
}

/**
 * Slices of one thread spread over lanes so that each lane nests strictly (a track in Perfetto
 * must: overlapping opens of two files would otherwise be drawn wrong). First-fit by start time.
 */
function lanes(slices: Slice[]): Slice[][] {
  const sorted = [...slices].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Array<{ stack: Slice[]; all: Slice[] }> = [];
  for (const s of sorted) {
    let placed = false;
    for (const lane of out) {
      while (lane.stack.length && lane.stack[lane.stack.length - 1]!.end <= s.start) lane.stack.pop();
      const top = lane.stack[lane.stack.length - 1];
      if (!top || top.end >= s.end) {
        lane.stack.push(s);
        lane.all.push(s);
        placed = true;
        break;
      }
    }
    if (!placed) out.push({ stack: [s], all: [s] });
  }
  return out.map((l) => l.all);
}

export function toChromeTrace(logs: RunLog[]): { traceEvents: ChromeEvent[]; displayTimeUnit: 'ms' } {
  const out: ChromeEvent[] = [];
  logs.forEach((log, run) => {
    const pid = run + 1;
    if (log.events.length === 0) return;
    const t0 = Math.min(...log.events.map((e) => e.ts));
    const us = (ns: number) => (ns - t0) / 1000;
    out.push({ name: 'process_name', ph: 'M', pid, tid: 0, args: { name: `${log.source}${log.header.command.length ? `: ${log.header.command.join(' ')}` : ''}` } });
    let nextTid = 1;
    const byPid = new Map<number, TraceEvent[]>();
    for (const e of log.events) (byPid.get(e.pid) ?? byPid.set(e.pid, []).get(e.pid)!).push(e);
    for (const [procId, events] of byPid) {
      const last = events[events.length - 1]!.ts;
      const exe = str(events.find((e) => e.ev === 'start') ?? events[0]!, 'exe') ?? '';
      const files = fileSlices(events, last);
      const loads = loadSlices(events);
      const tids = [...new Set(events.map((e) => e.tid))];
      for (const tid of tids) {
        const laneList = lanes([...(loads.get(tid) ?? []), ...(files.get(tid) ?? [])]);
        if (laneList.length === 0) laneList.push([]);
        const laneTids = laneList.map((slices, i) => {
          const t = nextTid++;
          out.push({ name: 'thread_name', ph: 'M', pid, tid: t, args: { name: `pid ${procId} tid ${tid}${exe ? ` ${posix.basename(exe)}` : ''}${i ? ` (${i + 1})` : ''}` } });
          for (const s of slices) out.push({ name: s.name, cat: s.cat, ph: 'X', pid, tid: t, ts: us(s.start), dur: (s.end - s.start) / 1000, args: s.args });
          return t;
        });
        for (const e of events) {
          if (e.tid !== tid) continue;
          const failedOpen = e.ev === 'open' && (num(e, 'fd') ?? -1) < 0;
          if (e.ev !== 'lookup' && e.ev !== 'search' && !failedOpen) continue;
          const path = str(e, e.ev === 'search' ? 'name' : 'path') ?? '';
          out.push({ name: `${e.ev} ${posix.basename(path) || path}`, cat: e.ev, ph: 'i', s: 't', pid, tid: laneTids[0]!, ts: us(e.ts), args: { path, ...(e.ev === 'search' ? { flag: e.flag, by: e.by } : { fn: e.fn, result: e.result ?? e.fd, errno: e.errno }) } });
        }
      }
    }
  });
  return { traceEvents: out, displayTimeUnit: 'ms' };
}
