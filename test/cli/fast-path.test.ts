import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compat, tempDir } from '../helpers/fixtures.js';

/** The fast entry (no oclif) and the oclif commands must be indistinguishable to a user. */
describe('fast path and oclif give the same answers', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    dir = tempDir();
    env = { XDG_CACHE_HOME: join(dir, 'cache') };
    expect(compat(['gen', '/usr/bin/xz', '-o', join(dir, 'xz.json')]).status).toBe(0);
    const spec = JSON.parse(readFileSync(join(dir, 'xz.json'), 'utf8'));
    spec.binaries[0].needed.push({ soname: 'libabsent.so.1', versions: [] });
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(spec));
    writeFileSync(join(dir, 'text.txt'), 'not a binary\n');
  });

  const cases: Array<[string, (d: string) => string[]]> = [
    ['check compatible', (d) => ['check', join(d, 'xz.json')]],
    ['check --json incompatible', (d) => ['check', '--json', join(d, 'bad.json')]],
    ['check a directory', (d) => ['check', d]],
    ['deps --json', () => ['deps', '--json', '/usr/bin/xz']],
    ['deps a text file', (d) => ['deps', join(d, 'text.txt')]],
    ['gen to stdout', () => ['gen', '--name', 'fixed', '/usr/bin/xz']],
    ['gen a text file', (d) => ['gen', join(d, 'text.txt')]],
    ['check a character device', () => ['check', '/dev/zero']],
    ['check an ELF file', () => ['check', '/usr/bin/xz']],
    ['gen -o where no directory can be made', () => ['gen', '/usr/bin/xz', '-o', '/proc/nope/x.json']],
  ];

  it.each(cases)('%s', (_name, args) => {
    const fast = compat(args(dir), { env });
    const slow = compat(args(dir), { env: { ...env, COMPAT_NO_FASTPATH: '1' } });
    const stable = (s: string) => s.replace(/"created": "[^"]+"/g, '"created": "…"');
    expect(fast.status).toBe(slow.status);
    expect(stable(fast.stdout)).toBe(stable(slow.stdout));
    expect(fast.stderr).toBe(slow.stderr);
  });
});
