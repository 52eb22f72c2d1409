import { describe, expect, test } from '@jest/globals';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compat, expectOneLineError, gcc, runBinary, tempDir, writeTree } from '../helpers/fixtures.js';
import { buildProgram } from './native-fixtures.js';

interface Line {
  [k: string]: unknown;
}
const readLines = (f: string): Line[] => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);

describe('compat record', () => {
  test('passes exit code, stdout and stderr through and writes a log with its header', () => {
    const dir = tempDir();
    writeTree(dir, { 'p.c': '#include <stdio.h>\nint main(int c, char **v) { printf("out %s\\n", v[1]); fprintf(stderr, "err\\n"); return 7; }\n' });
    gcc(dir, ['-o', 'p', 'p.c']);
    const plain = runBinary(join(dir, 'p'));
    const r = compat(['record', '--out', join(dir, 'log.jsonl'), '--', join(dir, 'p'), 'x'], { cwd: dir });
    expect([r.status, r.stdout, r.stderr]).toEqual([7, 'out x\n', 'err\n']);
    expect(plain.status).toBe(7);
    const [head, ...events] = readLines(join(dir, 'log.jsonl'));
    expect(head).toMatchObject({ compatTrace: 1, command: [join(dir, 'p'), 'x'], events: 'libs', backend: 'audit', exit: 7, cwd: dir });
    expect(head!.glibc).toMatch(/^\d+\.\d+/);
    expect(typeof head!.host).toBe('string');
    expect(new Date(head!.start as string).getTime()).toBeGreaterThan(0);
    expect(head!.compatVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(events.some((e) => e.ev === 'objopen' && e.path === join(dir, 'p') && e.main === 1)).toBe(true);
    expect(events.some((e) => e.ev === 'objopen' && String(e.path).endsWith('/libc.so.6'))).toBe(true);
    // Nothing left beside the log.
    expect(readdirSync(dir).sort()).toEqual(['log.jsonl', 'p', 'p.c']);
  });

  test('--out-dir: one log per process (children too), the MPI rank in each name', () => {
    const dir = tempDir();
    const { app, libpath, data } = buildProgram(dir);
    const out = join(dir, 'logs');
    const r = compat(['record', '--events', 'all', '--out-dir', out, '--', app, data, join(dir, 'plugins', 'plugin.so')], { env: { LD_LIBRARY_PATH: libpath, PMI_RANK: '3' } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const files = readdirSync(out).sort();
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      expect(f).toMatch(/^app\.rank3\.\d+\.jsonl$/);
      const [head, ...events] = readLines(join(out, f));
      expect(head).toMatchObject({ rank: '3', events: 'all', pid: Number(f.split('.')[2]) });
      expect(events.every((e) => e.pid === head!.pid)).toBe(true);
    }
  });

  test('--out carries the rank too (OMPI_COMM_WORLD_RANK)', () => {
    const dir = tempDir();
    const r = compat(['record', '--out', join(dir, 'run.jsonl'), '--', '/bin/true'], { env: { OMPI_COMM_WORLD_RANK: '5' } });
    expect(r.status).toBe(0);
    expect(existsSync(join(dir, 'run.rank5.jsonl'))).toBe(true);
  });

  test('a static binary is refused in one line naming --backend strace, which then records it', () => {
    const dir = tempDir();
    writeTree(dir, { 's.c': '#include <fcntl.h>\n#include <unistd.h>\nint main(int c, char **v) { int fd = open(v[1], O_RDONLY); close(fd); return fd < 0 ? 1 : 4; }\n', 'data.txt': 'x' });
    gcc(dir, ['-static', '-o', 's', 's.c']);
    const refused = compat(['record', '--out', join(dir, 'log.jsonl'), '--', join(dir, 's'), join(dir, 'data.txt')]);
    expectOneLineError(refused, /^compat: .*\/s: is a static binary: .*--backend strace$/);
    expect(existsSync(join(dir, 'log.jsonl'))).toBe(false);
    const r = compat(['record', '--backend', 'strace', '--events', 'files', '--out', join(dir, 'log.jsonl'), '--', join(dir, 's'), join(dir, 'data.txt')]);
    expect(r.status).toBe(4);
    const [head, ...events] = readLines(join(dir, 'log.jsonl'));
    expect(head).toMatchObject({ backend: 'strace', exit: 4 });
    const open = events.find((e) => e.ev === 'open' && e.path === join(dir, 'data.txt'))!;
    expect(open).toBeDefined();
    expect(open.fd).toBe(3);
    expect(events.some((e) => e.ev === 'close' && e.fd === 3 && e.pid === open.pid)).toBe(true);
    expect(events.some((e) => e.ev === 'exec' && e.path === join(dir, 's'))).toBe(true);
  });

  test('a setuid program is refused in one line (the loader drops LD_AUDIT in secure mode)', () => {
    const dir = tempDir();
    copyFileSync('/bin/true', join(dir, 'true'));
    chmodSync(join(dir, 'true'), 0o4755);
    expectOneLineError(compat(['record', '--out', join(dir, 'log.jsonl'), '--', join(dir, 'true')]), /^compat: .*\/true: is setuid: .*--backend strace$/);
  });

  test('usage errors are one line, exit 2', () => {
    expectOneLineError(compat(['record']), /^compat: .*command to record/);
    expectOneLineError(compat(['record', '--', 'no-such-command-compat']), /^compat: no-such-command-compat: command not found on PATH$/);
  });
});
