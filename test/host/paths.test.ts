import { describe, expect, it } from '@jest/globals';
import { posix } from 'node:path';
import { normalPath } from '../../src/host/paths.js';

describe('normalPath: posix.normalize, without the work for a path already normal', () => {
  it('equals posix.normalize on paths built from every awkward piece', () => {
    const pieces = ['', '/', '//', '.', '..', 'a', 'lib', '.hidden', '..x', 'x..', '...', 'glibc-hwcaps', 'x86-64-v3'];
    const seen: string[] = [];
    for (const a of pieces) for (const b of pieces) for (const c of pieces) for (const sep of ['/', '//']) seen.push(`${a}${sep}${b}/${c}`, `/${a}${sep}${b}`, `${a}/${b}${sep}`);
    for (const p of seen) expect([p, normalPath(p)]).toEqual([p, posix.normalize(p)]);
  });

  it('returns a normal path as the very string it was given', () => {
    const p = ['/usr/lib', 'x86_64-linux-gnu', 'libc.so.6'].join('/');
    expect(normalPath(p)).toBe(p);
    expect(normalPath('/.compat-app/lib/../bin/x')).toBe('/.compat-app/bin/x');
  });
});
