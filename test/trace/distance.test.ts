import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { editScript, intern, levenshtein, smithWaterman } from '../../src/trace/distance.js';
import { normalizePath } from '../../src/trace/normalize.js';

function textbook(a: string[], b: string[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1), prev[j]! + 1, cur[j - 1]! + 1);
    prev = cur;
  }
  return prev[b.length]!;
}

describe('sequence distances', () => {
  test('Landau-Vishkin Levenshtein equals the textbook table, and the edit script has that many edits', () => {
    const seq = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 40 });
    fc.assert(
      fc.property(seq, seq, (a, b) => {
        const [ia, ib] = intern([a, b]) as [Int32Array, Int32Array];
        const d = textbook(a, b);
        expect(levenshtein(ia, ib)).toBe(d);
        const script = editScript(a, b)!;
        expect(script.filter((o) => o.op !== 'keep')).toHaveLength(d);
        // Applying the script to a gives b.
        expect(script.filter((o) => o.op !== 'delete').map((o) => o.b)).toEqual(b);
        expect(script.filter((o) => o.op !== 'insert').map((o) => o.a)).toEqual(a);
      }),
      { numRuns: 300 },
    );
  });

  test('Smith-Waterman finds the shared stretch inside unrelated ends', () => {
    const shared = ['/lib/libc.so', '/lib/libm.so', '/etc/hosts', '/lib/libz.so'];
    const r = smithWaterman(['/x', '/y', ...shared, '/z'], ['/q', ...shared, '/r', '/s'])!;
    expect(r).toMatchObject({ a: [2, 6], b: [1, 5], matches: 4, score: 8 });
  });

  test('normalised paths drop so-versions and store hashes', () => {
    expect(normalizePath('/usr/lib/x86_64-linux-gnu/libssl.so.3')).toBe('/usr/lib/x86_64-linux-gnu/libssl.so');
    expect(normalizePath('/usr/lib/libfoo.so.1.2.3')).toBe('/usr/lib/libfoo.so');
    expect(normalizePath('/nix/store/0c0h6gh3p9ykwyqy3rqd7sqb6kzhhyxb-openssl-3.0.12/lib/libssl.so.3')).toBe('/nix/store/openssl-3.0.12/lib/libssl.so');
    expect(normalizePath('/opt/spack/linux-x86_64/gcc-12/zlib-1.3-abcdefghijklmnopqrstuvwxyz012345/lib/libz.so.1')).toBe('/opt/spack/linux-x86_64/gcc-12/zlib-1.3/lib/libz.so');
    expect(normalizePath('/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so')).toBe('/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so');
  });
});
