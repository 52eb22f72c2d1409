import { num, type RunLog } from './events.js';
import { imagesOf, openedObjects, recordedTrace } from './images.js';

export interface ImageSummary {
  pid: number;
  exe: string;
  objects: Array<{ name: string; path: string; via: string; neededBy: string | null; runtime: boolean }>;
  opens: { ok: number; failed: number };
  lookups: { ok: number; failed: number };
  closes: number;
  /** ms from the loader's first callback to la_preinit (the program's own code next). */
  loadMs?: number;
}

export interface LogSummary {
  source: string;
  command: string[];
  exit?: number;
  processes: number;
  events: number;
  /** ms between the first and the last event. */
  wallMs: number;
  images: ImageSummary[];
}

export function summarize(log: RunLog): LogSummary {
  const images = imagesOf(log).map((img): ImageSummary => {
    const rec = recordedTrace(img);
    const objects = rec.trace.objects.length
      ? rec.trace.objects.map((o) => ({ name: o.name, path: o.path, via: o.via, neededBy: o.neededBy, runtime: rec.runtime.has(o.path) }))
      : openedObjects(img).map((p) => ({ name: p, path: p, via: 'opened', neededBy: null, runtime: false }));
    const s: ImageSummary = { pid: img.pid, exe: img.exe, objects, opens: { ok: 0, failed: 0 }, lookups: { ok: 0, failed: 0 }, closes: 0 };
    for (const e of img.events) {
      if (e.ev === 'open') (num(e, 'fd') ?? -1) >= 0 ? s.opens.ok++ : s.opens.failed++;
      else if (e.ev === 'lookup') (num(e, 'result') ?? 0) >= 0 ? s.lookups.ok++ : s.lookups.failed++;
      else if (e.ev === 'close') s.closes++;
    }
    if (rec.loadNs !== undefined) s.loadMs = rec.loadNs / 1e6;
    return s;
  });
  const ts = log.events.map((e) => e.ts);
  return {
    source: log.source,
    command: log.header.command,
    ...(log.header.exit !== undefined ? { exit: log.header.exit } : {}),
    processes: new Set(log.events.map((e) => e.pid)).size,
    events: log.events.length,
    wallMs: ts.length ? (Math.max(...ts) - Math.min(...ts)) / 1e6 : 0,
    images: images.filter((i) => i.objects.length > 0 || i.opens.ok + i.opens.failed + i.lookups.ok + i.lookups.failed > 0),
  };
}

export function renderSummary(s: LogSummary): string {
  const lines = [`${s.source}: ${s.command.join(' ') || '(no command recorded)'}${s.exit !== undefined ? ` (exit ${s.exit})` : ''}`];
  lines.push(`  ${s.processes} process${s.processes === 1 ? '' : 'es'}, ${s.images.length} program image${s.images.length === 1 ? '' : 's'}, ${s.events} events over ${s.wallMs.toFixed(1)} ms`);
  for (const img of s.images) {
    lines.push(`  pid ${img.pid} ${img.exe || '(unknown program)'}${img.loadMs !== undefined ? `: ${img.objects.filter((o) => !o.runtime).length} objects mapped in ${img.loadMs.toFixed(2)} ms before main` : ''}`);
    for (const o of img.objects) {
      if (o.via === 'executable') continue;
      lines.push(`    ${o.name === o.path ? o.path : `${o.name} => ${o.path}`} [${o.via}]${o.runtime ? ' (dlopen)' : ''}`);
    }
    const f = img.opens.ok + img.opens.failed + img.lookups.ok + img.lookups.failed + img.closes;
    if (f > 0) lines.push(`    files: ${img.opens.ok} opened, ${img.opens.failed} failed opens, ${img.lookups.ok + img.lookups.failed} lookups (${img.lookups.failed} failed), ${img.closes} closes`);
  }
  return `${lines.join('\n')}\n`;
}

