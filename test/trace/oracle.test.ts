import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { compat, tempDir } from '../helpers/fixtures.js';

/** Safe real programs: each runs in well under a second and writes nothing. */
const PROGRAMS: string[][] = [
  ['/usr/bin/python3', '-c', 'import json, ssl, sqlite3, ctypes'],
  ['/usr/bin/perl', '-MPOSIX', '-e', '1'],
  ['/usr/bin/xz', '--version'],
  ['/usr/bin/git', '--version'],
  ['/usr/bin/openssl', 'version'],
].filter((c) => existsSync(c[0]!));

function isElf(p: string): boolean {
  try {
    const fd = openSync(p, 'r');
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, 0);
    closeSync(fd);
    return b.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } catch {
    return false;
  }
}

/** The ELF files the loader opened in the first process: successful O_CLOEXEC openat calls, as strace saw them. */
function straceLoaderOpens(cmd: string[], dir: string): Set<string> {
  const out = join(dir, 'strace.txt');
  const r = spawnSync('strace', ['-qq', '-o', out, '-e', 'trace=openat', ...cmd], { encoding: 'utf8', timeout: 60000 });
  expect(r.status).toBe(0);
  const found = new Set<string>();
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const m = /^openat\(AT_FDCWD, "([^"]+)", O_RDONLY\|O_CLOEXEC\) = \d+/.exec(line);
    if (m && isElf(m[1]!)) found.add(m[1]!);
  }
  return found;
}

describe('the recorder against strace and the resolver (real programs)', () => {
  expect(PROGRAMS.length).toBeGreaterThanOrEqual(3);
  test.each(PROGRAMS.map((c) => [c.join(' '), c] as [string, string[]]))('%s', (_name, cmd) => {
    const dir = tempDir();
    const log = join(dir, 'run.jsonl');
    const r = compat(['record', '--out', log, '--', ...cmd]);
    expect(r.status).toBe(0);
    const summary = JSON.parse(compat(['trace', 'summary', '--json', log]).stdout) as { images: Array<{ pid: number; objects: Array<{ path: string; via: string; runtime: boolean }> }> };
    const main = summary.images[0]!;
    const recorded = main.objects.filter((o) => o.via !== 'executable' && o.via !== 'interpreter');
    const all = new Set(recorded.map((o) => o.path));
    const startup = new Set(recorded.filter((o) => !o.runtime).map((o) => o.path));
    const runtime = new Set(recorded.filter((o) => o.runtime).map((o) => o.path));

    // strace: what the loader opened, start-up and dlopen() alike.
    expect(all).toEqual(straceLoaderOpens(cmd, dir));

    // compat deps: the start-up set exactly; the recording adds the dlopen()ed modules.
    const deps = JSON.parse(compat(['deps', '--json', cmd[0]!]).stdout) as { libraries: Array<{ path: string }> };
    expect(startup).toEqual(new Set(deps.libraries.map((l) => l.path).filter((p) => !p.includes('/ld-linux'))));
    if (cmd[0] === '/usr/bin/python3') expect([...runtime].some((p) => /_ssl\.cpython-.*\.so$/.test(p))).toBe(true);
  });
});
