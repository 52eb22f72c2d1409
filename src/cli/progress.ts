import type { CopyEvent } from '../registry/copy.js';
import type { Descriptor, ProgressCallback } from '../registry/target.js';

const TITLE = 'org.opencontainers.image.title';

/** What a transfer reports to the bars: bytes moved, and what became of each blob or manifest. */
export interface ProgressBars {
  onProgress?: ProgressCallback;
  onEvent?: (e: CopyEvent) => void;
  stop: () => void;
}

type Stream = NodeJS.WriteStream;

/**
 * Bars on a terminal, nothing otherwise (pipes and logs stay clean), as ORAS draws them: one bar
 * per transfer in flight, each named by its title (else its short digest); a finished transfer
 * leaves one line (`✓ Uploaded`, `✓ Exists` when the target already had it). Every line fits the
 * terminal's width, read again on each redraw so that a resize is followed.
 */
export async function progressBars(opts: { done?: string; stream?: Stream } = {}): Promise<ProgressBars> {
  const stream = opts.stream ?? process.stderr;
  if (!stream.isTTY) return { stop: () => {} };
  const { default: cliProgress } = await import('cli-progress');
  const width = () => stream.columns || 80;
  const multi = new cliProgress.MultiBar({
    stream,
    hideCursor: true,
    clearOnComplete: true,
    linewrap: false,
    format: (_o, params, payload: { name: string }) => barLine(payload.name, params.value, params.total, width()),
  });
  const bars = new Map<string, ReturnType<typeof multi.create>>();
  const finished = new Set<string>();
  let drawing = false;
  const halt = () => {
    if (drawing) multi.stop();
    drawing = false;
  };
  // MultiBar.log() only flushes while a bar is drawn: with none, write the line straight away.
  const line = (text: string) => (bars.size > 0 ? multi.log(`${text}\n`) : stream.write(`${text}\n`));
  const finish = (desc: Descriptor, verb: string) => {
    if (finished.has(desc.digest)) return;
    finished.add(desc.digest);
    const bar = bars.get(desc.digest);
    if (bar) {
      bars.delete(desc.digest);
      multi.remove(bar);
      // With no bar left, the next lines go straight to the terminal: stop redrawing under them.
      if (bars.size === 0) halt();
    }
    line(doneLine(verb, nameOf(desc), desc.size, width()));
  };
  const start = (desc: Descriptor) => {
    let bar = bars.get(desc.digest);
    if (!bar && !finished.has(desc.digest)) {
      bar = multi.create(desc.size, 0, { name: nameOf(desc) });
      drawing = true;
      bars.set(desc.digest, bar);
    }
    return bar;
  };
  return {
    onProgress: (p) => {
      start(p.descriptor)?.update(p.bytes);
      // Flows that report bytes only (no events) still end each bar.
      if (p.bytes >= p.total) finish(p.descriptor, opts.done ?? 'Done');
    },
    onEvent: (e) => {
      if (e.type === 'start') start(e.descriptor);
      else if (e.type === 'exists') finish(e.descriptor, 'Exists');
      else if (e.type === 'mounted') finish(e.descriptor, 'Mounted');
      else finish(e.descriptor, opts.done ?? 'Done');
    },
    stop: () => {
      if (drawing) multi.update(); // flushes lines logged since the last redraw
      halt();
    },
  };
}

/** The file's title, else the digest's first 12 hex digits (as ORAS names untitled blobs). */
export function nameOf(desc: Descriptor): string {
  const title = desc.annotations?.[TITLE];
  if (title) return title;
  const hex = desc.digest.slice(desc.digest.indexOf(':') + 1);
  return hex.slice(0, 12);
}

export function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** `  hello.txt [=====-----]  42% 1.2 MiB/3.0 MiB`, the name cut (keeping its end) to fit `columns`. */
export function barLine(name: string, value: number, total: number, columns: number): string {
  const pct = total > 0 ? Math.min(100, Math.floor((value / total) * 100)) : 100;
  const tail = ` ${String(pct).padStart(3)}% ${size(value)}/${size(total)}`;
  const room = columns - 1 - 2 - tail.length;
  const barWidth = Math.min(30, room - 12);
  const bar = barWidth >= 5 ? ` [${'='.repeat(Math.round((barWidth * pct) / 100)).padEnd(barWidth, '-')}]` : '';
  return fit(`  ${cut(name, room - bar.length)}${bar}${tail}`, columns);
}

/** `✓ Exists   hello.txt  6 B`. */
export function doneLine(verb: string, name: string, bytes: number, columns: number): string {
  const head = `✓ ${verb.padEnd(8)} `;
  const tail = `  ${size(bytes)}`;
  return fit(`${head}${cut(name, columns - 1 - head.length - tail.length)}${tail}`, columns);
}

/** The name, or its end behind `…` when longer than `room` (the file name is the end of a title). */
function cut(name: string, room: number): string {
  if (name.length <= room) return name;
  return room >= 2 ? `…${name.slice(name.length - (room - 1))}` : '';
}

/** Never wider than the terminal less one column (a full line wraps on some terminals). */
function fit(text: string, columns: number): string {
  return text.length < columns ? text : text.slice(0, Math.max(0, columns - 1));
}
