/**
 * The spec's lists of symbol references: tokens separated by single spaces, where a token
 * `@VERSION` gives the version of the names after it (up to the next such token) and names before
 * any such token are unversioned: `getenv free @XZ_5.0 lzma_code lzma_end`. Grouping by version
 * writes each version name once per list instead of once per reference (a spec of /usr/bin is a
 * third smaller, and a check hashes each version once). A token `name@VERSION` (how specs were
 * first written) names its own version. Dynamic symbol names never contain a space or an '@'.
 */

const SPACE = 0x20;
const AT_SIGN = 0x40;

/**
 * Calls `each` for every reference of `text` with the offsets of its name and of its version
 * (`vStart` -1 when unversioned), without making substrings.
 */
export function scanRefList(text: string, each: (start: number, nameEnd: number, vStart: number, vEnd: number) => void): void {
  const n = text.length;
  let vStart = -1;
  let vEnd = -1;
  let i = 0;
  while (i < n) {
    while (i < n && text.charCodeAt(i) === SPACE) i++;
    if (i >= n) break;
    const start = i;
    let at = -1;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === SPACE) break;
      if (c === AT_SIGN && at < 0) at = i;
    }
    if (at === start) {
      // `@VERSION` (a lone `@`: unversioned again) for the names that follow.
      vStart = i > start + 1 ? start + 1 : -1;
      vEnd = i;
    } else if (at > start) each(start, at, at + 1, i);
    else each(start, i, vStart, vEnd);
  }
}

/** One reference of a list as strings (for what is not on a hot path). */
export interface ListedRef {
  name: string;
  version?: string;
}

export function refsOfList(text: string): ListedRef[] {
  const out: ListedRef[] = [];
  scanRefList(text, (start, nameEnd, vStart, vEnd) => {
    const name = text.slice(start, nameEnd);
    out.push(vStart < 0 ? { name } : { name, version: text.slice(vStart, vEnd) });
  });
  return out;
}

/** Writes a list from names given as NUL-terminated bytes (a string table's), version by version, into a reused buffer. */
export class RefListWriter {
  private static scratch = Buffer.allocUnsafe(64 * 1024);
  private buf = RefListWriter.scratch;
  private n = 0;
  private version: string | undefined;

  private room(len: number): void {
    if (this.n + len <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + len));
    this.buf.copy(bigger, 0, 0, this.n);
    this.buf = bigger;
    RefListWriter.scratch = bigger;
  }

  /** Appends the NUL-terminated name at `strtab[start]` under `version` (undefined: unversioned); names of one version should come together. */
  add(strtab: Uint8Array, start: number, version: string | undefined): void {
    if (version !== this.version) {
      const v = version ?? '';
      this.room(v.length + 2);
      if (this.n > 0) this.buf[this.n++] = SPACE;
      this.buf[this.n++] = AT_SIGN;
      this.n += this.buf.write(v, this.n, 'latin1');
      this.version = version;
    }
    let end = start;
    while (end < strtab.length && strtab[end] !== 0) end++;
    this.room(end - start + 1);
    const buf = this.buf;
    let n = this.n;
    if (n > 0) buf[n++] = SPACE;
    // A plain loop: Buffer#copy costs more in its argument checks than a symbol name's few bytes.
    for (let i = start; i < end; i++) buf[n++] = strtab[i]!;
    this.n = n;
  }

  /** The list written so far (undefined when empty); the writer starts over. */
  take(): string | undefined {
    const s = this.n > 0 ? this.buf.toString('latin1', 0, this.n) : undefined;
    this.n = 0;
    this.version = undefined;
    return s;
  }
}
