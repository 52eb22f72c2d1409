// How a caller's value is written into the daemon's log: unambiguous, one line, bounded.
import { describe, expect, it } from '@jest/globals';
import { logValue, safeLine } from '../../src/service/log.js';

describe('logValue', () => {
  it('a plain reference stays as is; anything else is quoted with controls, quotes and backslashes escaped', () => {
    expect(logValue('localhost:5000/app:1')).toBe('localhost:5000/app:1');
    expect(logValue('a b')).toBe('"a b"');
    // A real newline and a typed backslash-n read differently.
    expect(logValue('a\nb')).toBe('"a\\nb"');
    expect(logValue('a\\nb')).toBe('"a\\\\nb"');
    expect(logValue('x" forged="y')).toBe('"x\\" forged=\\"y"');
    expect(logValue('\u001b[31m\u009b2J\u2028\u202e')).toBe('"\\u001b[31m\\u009b2J\\u2028\\u202e"');
  });

  it('shows at most 256 characters and says how many were left out', () => {
    const v = logValue('a'.repeat(3 * 1024 * 1024));
    expect(v.length).toBeLessThan(300);
    expect(v).toMatch(/^"a{256}…"\(\+3145472 chars\)$/);
    // Escapes count against the cap: 256 ESC bytes do not become 1,536 characters.
    expect(logValue('\u001b'.repeat(256)).length).toBeLessThan(300);
  });
});

describe('safeLine', () => {
  it('escapes any control character left in a line and bounds its length', () => {
    expect(safeLine('ok line')).toBe('ok line');
    expect(safeLine('one\ntwo\u001b')).toBe('one\\ntwo\\u001b');
    expect(safeLine('x'.repeat(10_000)).length).toBeLessThan(4200);
  });
});
