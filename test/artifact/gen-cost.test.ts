import { beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gcc, tempDir } from '../helpers/fixtures.js';

/**
 * What `compat gen` costs the system as the process runs: the modules it loads and the system
 * calls it makes per file, observed from outside (a preload that lists the loaded CommonJS
 * modules at exit; strace). The figures themselves are in bench/RESULTS.md; these pin the shape.
 */

const BIN = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'bin', 'run.js');

describe('gen: start-up and system calls per file', () => {
  let dir: string;
  let programs: string[];
  beforeAll(() => {
    dir = tempDir();
    writeFileSync(join(dir, 'main.c'), '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n');
    programs = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => join(dir, n));
    for (const p of programs) gcc(dir, ['-o', p, 'main.c']);
    symlinkSync(programs[0]!, join(dir, 'link-to-a'));
  });

  it('loads no CommonJS module (the spec validator and its ajv runtime are for reading specs)', () => {
    const preload = join(dir, 'list-cjs.mjs');
    writeFileSync(preload, "import { createRequire } from 'node:module';\nconst r = createRequire(import.meta.url);\nprocess.on('exit', () => process.stderr.write(`CJS ${JSON.stringify(Object.keys(r.cache))}\\n`));\n");
    const r = spawnSync(process.execPath, ['--import', preload, BIN, 'gen', ...programs, '-o', join(dir, 'spec.json')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const line = r.stderr.split('\n').find((l) => l.startsWith('CJS '));
    expect(line).toBeDefined();
    expect(JSON.parse(line!.slice(4))).toEqual([]);
  });

  it('looks at each named file once (no second stat, no readlink of a file that is no link)', () => {
    const log = join(dir, 'strace.log');
    const r = spawnSync('strace', ['-f', '-qq', '-o', log, '-e', 'trace=stat,lstat,newfstatat,statx,readlink,readlinkat', process.execPath, BIN, 'gen', ...programs, join(dir, 'link-to-a'), '-o', join(dir, 'spec2.json')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const calls = readFileSync(log, 'utf8').split('\n');
    for (const p of programs) {
      const mine = calls.filter((l) => l.includes(`("${p}"`) || l.includes(`, "${p}", `));
      // One lstat of the name as given; its type and mode then come from the open file's fstat.
      expect(mine.filter((l) => /stat/.test(l))).toHaveLength(1);
      // Only following link-to-a reads a as a possible link.
      if (p !== programs[0]) expect(mine.filter((l) => /readlink/.test(l))).toHaveLength(0);
    }
    // The directory's real path is worked out once (and again while following the link), not once per file in it.
    expect(calls.filter((l) => /readlink/.test(l) && l.includes(`"${dir}"`)).length).toBeLessThan(programs.length);
    // The link is still followed: the spec names a once, with the link as its alias.
    const spec = JSON.parse(readFileSync(join(dir, 'spec2.json'), 'utf8')) as { binaries: Array<{ path: string; aliases?: string[] }> };
    expect(spec.binaries.map((b) => b.path)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(spec.binaries[0]!.aliases).toEqual(['link-to-a']);
  });
});
