/** What one caller-supplied field may occupy in a log line, escaped (the rest is elided). */
export const MAX_FIELD_CHARS = 256;
/** A log line is cut here whatever it holds: the last guard against a field nobody escaped. */
export const MAX_LINE_CHARS = 4096;

// C0 and C1 controls, DEL, the Unicode line/paragraph separators, bidi and other invisible
// formatting marks, and surrogate halves: anything that can end a line, move a terminal's cursor,
// or make a line read as something it is not.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\' };
const BARE = /^[\x21-\x7e]+$/;

function escapeChar(c: string): string {
  return SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * A value from a caller, as it may appear in a log line: as is when it is short printable ASCII
 * without quotes or backslashes (a reference, an address), otherwise JSON-style quoted with every
 * control, quote and backslash escaped. At most `max` characters are shown; `(+N chars)` says how
 * many were left out. Only the shown part is scanned, so a 3 MiB value costs what 256 chars do.
 */
export function logValue(value: string, max = MAX_FIELD_CHARS): string {
  if (value.length <= max && BARE.test(value) && !value.includes('"') && !value.includes('\\')) return value;
  let out = '';
  let i = 0;
  for (; i < value.length; i++) {
    const c = value[i]!;
    const e = UNSAFE.test(c) || c === '"' || c === '\\' ? escapeChar(c) : c;
    if (out.length + e.length > max) break;
    out += e;
  }
  return i < value.length ? `"${out}…"(+${value.length - i} chars)` : `"${out}"`;
}

/** One log line whatever it was given: no control character survives, and the length is bounded. */
export function safeLine(line: string, max = MAX_LINE_CHARS): string {
  const cut = line.length > max ? `${line.slice(0, max)}…(+${line.length - max} chars)` : line;
  return UNSAFE.test(cut) ? cut.replace(UNSAFE_ALL, escapeChar) : cut;
}

/**
 * A log that writes lines in batches: lines logged during one turn of the event loop go out in one
 * write (under load, one syscall per turn instead of one per check). Flushed on exit too. Every
 * line goes through safeLine, so whatever a caller managed to put in it stays one bounded line.
 */
export function lineWriter(stream: NodeJS.WritableStream = process.stderr, maxBuffered = 64 * 1024): ((line: string) => void) & { flush: () => void } {
  let buf: string[] = [];
  let size = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (buf.length === 0) return;
    const text = buf.join('');
    buf = [];
    size = 0;
    stream.write(text);
  };
  process.once('exit', flush);
  const log = (raw: string) => {
    const line = safeLine(raw);
    buf.push(`${line}\n`);
    size += line.length + 1;
    if (size >= maxBuffered) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return Object.assign(log, { flush });
}
