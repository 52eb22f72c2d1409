/**
 * Distances between access sequences. Tokens are interned to integers first, so the inner loops
 * compare numbers.
 */

export function intern(seqs: string[][]): Int32Array[] {
  const ids = new Map<string, number>();
  return seqs.map((s) => Int32Array.from(s, (t) => {
    let id = ids.get(t);
    if (id === undefined) ids.set(t, (id = ids.size));
    return id;
  }));
}

/**
 * Levenshtein distance by Landau and Vishkin's diagonal method: O((n + m) · d) for a distance d,
 * so runs of the same application (a few differences in thousands of accesses) compare in
 * near-linear time where the textbook table would cost n · m.
 */
export function levenshtein(a0: Int32Array, b0: Int32Array): number {
  // Shared head and tail cost nothing: most runs of one program differ in a few places.
  let head = 0;
  while (head < a0.length && head < b0.length && a0[head] === b0[head]) head++;
  let tail = 0;
  while (tail < a0.length - head && tail < b0.length - head && a0[a0.length - 1 - tail] === b0[b0.length - 1 - tail]) tail++;
  const a = a0.subarray(head, a0.length - tail);
  const b = b0.subarray(head, b0.length - tail);
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return n + m;
  const offset = n + 1;
  let prev = new Int32Array(n + m + 3).fill(-2);
  let cur = new Int32Array(n + m + 3).fill(-2);
  for (let d = 0; ; d++) {
    const lo = Math.max(-n, -d);
    const hi = Math.min(m, d);
    for (let k = lo; k <= hi; k++) {
      // Furthest row i on diagonal k (j = i + k) reachable with d edits.
      let i: number;
      if (d === 0) i = 0;
      else {
        const sub = k >= -d + 1 && k <= d - 1 ? prev[k + offset]! + 1 : -2;
        const del = k + 1 <= d - 1 ? prev[k + 1 + offset]! + 1 : -2; // a[i] dropped: from diagonal k+1
        const ins = k - 1 >= -(d - 1) ? prev[k - 1 + offset]! : -2; // b[j] inserted: from diagonal k-1
        i = Math.max(sub, del, ins);
        if (i < 0) continue;
        i = Math.min(i, n, m - k);
      }
      while (i < n && i + k < m && a[i] === b[i + k]) i++;
      if (k === m - n && i >= n) return d;
      cur[k + offset] = i;
    }
    [prev, cur] = [cur, prev];
  }
}

export type EditOp = { op: 'keep' | 'substitute' | 'insert' | 'delete'; a?: string; b?: string };

/** The largest table the edit script is computed over (cells); beyond it only the distance is given. */
export const MAX_SCRIPT_CELLS = 64 * 1024 * 1024;

/** The edit script turning a into b (Wagner–Fischer table, traced back). */
export function editScript(a: string[], b: string[]): EditOp[] | undefined {
  const n = a.length;
  const m = b.length;
  if ((n + 1) * (m + 1) > MAX_SCRIPT_CELLS) return undefined;
  const [ia, ib] = intern([a, b]) as [Int32Array, Int32Array];
  const w = m + 1;
  const t = new Uint32Array((n + 1) * w);
  for (let j = 0; j <= m; j++) t[j] = j;
  for (let i = 1; i <= n; i++) {
    t[i * w] = i;
    for (let j = 1; j <= m; j++) {
      const sub = t[(i - 1) * w + j - 1]! + (ia[i - 1] === ib[j - 1] ? 0 : 1);
      t[i * w + j] = Math.min(sub, t[(i - 1) * w + j]! + 1, t[i * w + j - 1]! + 1);
    }
  }
  const ops: EditOp[] = [];
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    const here = t[i * w + j]!;
    if (i > 0 && j > 0 && here === t[(i - 1) * w + j - 1]! + (ia[i - 1] === ib[j - 1] ? 0 : 1)) {
      ops.push(ia[i - 1] === ib[j - 1] ? { op: 'keep', a: a[i - 1], b: b[j - 1] } : { op: 'substitute', a: a[i - 1], b: b[j - 1] });
      i--;
      j--;
    } else if (i > 0 && here === t[(i - 1) * w + j]! + 1) {
      ops.push({ op: 'delete', a: a[i - 1] });
      i--;
    } else {
      ops.push({ op: 'insert', b: b[j - 1] });
      j--;
    }
  }
  return ops.reverse();
}

export interface LocalAlignment {
  score: number;
  /** Half-open ranges of the aligned stretch in each sequence. */
  a: [number, number];
  b: [number, number];
  /** Matched pairs inside the stretch. */
  matches: number;
}

/** Smith–Waterman local alignment (match +2, mismatch −1, gap −1): the longest stretch the runs share. */
export function smithWaterman(a: string[], b: string[]): LocalAlignment | undefined {
  const n = a.length;
  const m = b.length;
  if ((n + 1) * (m + 1) > MAX_SCRIPT_CELLS) return undefined;
  const [ia, ib] = intern([a, b]) as [Int32Array, Int32Array];
  const w = m + 1;
  const h = new Int32Array((n + 1) * w);
  let best = 0;
  let bi = 0;
  let bj = 0;
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      const v = Math.max(0, h[(i - 1) * w + j - 1]! + (ia[i - 1] === ib[j - 1] ? 2 : -1), h[(i - 1) * w + j]! - 1, h[i * w + j - 1]! - 1);
      h[i * w + j] = v;
      if (v > best) [best, bi, bj] = [v, i, j];
    }
  }
  let i = bi;
  let j = bj;
  let matches = 0;
  while (i > 0 && j > 0 && h[i * w + j]! > 0) {
    const v = h[i * w + j]!;
    if (v === h[(i - 1) * w + j - 1]! + (ia[i - 1] === ib[j - 1] ? 2 : -1)) {
      if (ia[i - 1] === ib[j - 1]) matches++;
      i--;
      j--;
    } else if (v === h[(i - 1) * w + j]! - 1) i--;
    else j--;
  }
  return { score: best, a: [i, bi], b: [j, bj], matches };
}
