import { describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { comparePaths, rootCollation } from '../../src/artifact/path-order.js';

/**
 * gen orders a spec's binaries as `String#localeCompare` does; comparePaths gives that order for
 * printable ASCII without creating ICU's collator (which costs a CLI run ~9 ms). The oracle is
 * localeCompare itself, over names found on this machine and over made-up ones.
 */

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

function expectSameOrder(pairs: Array<[string, string]>): void {
  const wrong = pairs.filter(([a, b]) => sign(comparePaths(a, b)) !== sign(a.localeCompare(b)));
  expect(wrong.slice(0, 5)).toEqual([]);
}

describe('comparePaths: localeCompare order without the collator', () => {
  it('agrees on every pair of one and two printable ASCII characters', () => {
    const chars = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));
    const words = [...chars, ...chars.flatMap((a) => ['a', 'A', '0', '_', '-', '.', '/', 'z'].map((b) => a + b)), ...chars.map((a) => `x${a}`)];
    const pairs: Array<[string, string]> = [];
    for (const a of words) for (const b of words) pairs.push([a, b]);
    expectSameOrder(pairs);
  });

  it('agrees on the file names of /usr/bin and /usr/lib/x86_64-linux-gnu, sorted and shuffled', () => {
    const names = [...readdirSync('/usr/bin'), ...readdirSync('/usr/lib/x86_64-linux-gnu')].filter((n) => /^[\x20-\x7e]*$/.test(n));
    expect(names.length).toBeGreaterThan(500);
    const pairs: Array<[string, string]> = [];
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < names.length; i++) {
      pairs.push([names[i]!, names[(i + 1) % names.length]!]);
      pairs.push([`usr/bin/${names[i]!}`, `usr/lib/${names[Math.floor(rand() * names.length)]!}`]);
      pairs.push([names[i]!.toUpperCase(), names[i]!]);
    }
    expectSameOrder(pairs);
    expect([...names].sort(comparePaths)).toEqual([...names].sort((a, b) => a.localeCompare(b)));
  });

  it('agrees on random strings that differ only in case and punctuation', () => {
    let seed = 42;
    const rand = (n: number) => Math.floor(((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * n);
    const alphabet = 'aAbB_-. /09zZ~$@';
    const word = () => Array.from({ length: 1 + rand(6) }, () => alphabet[rand(alphabet.length)]).join('');
    const pairs: Array<[string, string]> = Array.from({ length: 20000 }, () => [word(), word()]);
    expectSameOrder(pairs);
  });

  it('falls back to localeCompare beyond printable ASCII, and where the locale may tailor the order', () => {
    expect(sign(comparePaths('é', 'f'))).toBe(sign('é'.localeCompare('f')));
    expect(sign(comparePaths('a\u0001b', 'ab'))).toBe(sign('a\u0001b'.localeCompare('ab')));
    expect(rootCollation({})).toBe(true);
    expect(rootCollation({ LANG: 'C.UTF-8' })).toBe(true);
    expect(rootCollation({ LANG: 'en_US.UTF-8' })).toBe(true);
    // Czech sorts "ch" after "h": only ICU knows such tailorings.
    expect(rootCollation({ LANG: 'C.UTF-8', LC_ALL: 'cs_CZ.UTF-8' })).toBe(false);
    expect(rootCollation({ LC_MESSAGES: 'da_DK.UTF-8' })).toBe(false);
  });
});
