import { beforeAll, describe, expect, test } from '@jest/globals';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compat, expectOneLineError, tempDir } from '../helpers/fixtures.js';
import { buildProgram } from './native-fixtures.js';

interface Chrome {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  args?: Record<string, unknown>;
}

let dir: string;
let fx: ReturnType<typeof buildProgram>;
let logA: string;
let logA2: string;
let logB: string;

function record(out: string, libpath: string): void {
  const r = compat(['record', '--events', 'all', '--out', out, '--', fx.app, fx.data, join(dir, 'plugins', 'plugin.so')], { env: { LD_LIBRARY_PATH: libpath } });
  expect([r.status, r.stderr]).toEqual([0, '']);
}

beforeAll(() => {
  dir = tempDir();
  fx = buildProgram(dir);
  // Run B finds libfoo in another directory.
  mkdirSync(join(dir, 'ldlib2'));
  copyFileSync(join(fx.libpath, 'libfoo.so'), join(dir, 'ldlib2', 'libfoo.so'));
  logA = join(dir, 'a.jsonl');
  logA2 = join(dir, 'a2.jsonl');
  logB = join(dir, 'b.jsonl');
  record(logA, fx.libpath);
  record(logA2, fx.libpath);
  record(logB, join(dir, 'ldlib2'));
});

const events = (f: string) => readFileSync(f, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('compat trace', () => {
  test('summary: each object with how it was found, dlopen()ed ones marked, files counted, time to main', () => {
    const r = compat(['trace', 'summary', logA]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`libfoo.so => ${join(fx.libpath, 'libfoo.so')} [ld_library_path]`);
    expect(r.stdout).toContain(`libbar.so => ${join(dir, 'rlib', 'libbar.so')} [runpath]`);
    expect(r.stdout).toMatch(/libc\.so\.6 => \/\S+\/libc\.so\.6 \[cache\]/);
    expect(r.stdout).toContain(`    ${join(dir, 'plugins', 'plugin.so')} [path] (dlopen)`);
    expect(r.stdout).toContain(`libdep.so => ${join(dir, 'plugins', 'libdep.so')} [runpath] (dlopen)`);
    const j = JSON.parse(compat(['trace', 'summary', '--json', logA]).stdout);
    const main = j.images.find((i: { exe: string }) => i.exe === fx.app);
    expect(main.loadMs).toBeGreaterThan(0);
    expect(main.opens.ok).toBeGreaterThanOrEqual(3);
    expect(main.lookups.failed).toBeGreaterThanOrEqual(1);
    expect(j.processes).toBeGreaterThanOrEqual(3);
  });

  test('the prototype\'s fs-record logs are read', () => {
    const f = join(dir, 'fs-record.log');
    writeFileSync(f, ['2024/11/08 10:46:19 recorder.go:46: 1731062779714551943 Lookup /etc', '2024/11/08 10:46:19 recorder.go:46: 1731062779714600000 Open /etc/hosts\t3', '2024/11/08 10:46:19 recorder.go:46: 1731062779714700000 Close /etc/hosts\t3', '2024/11/08 10:46:19 recorder.go:46: 1731062779714800000 Complete', ''].join('\n'));
    const r = compat(['trace', 'summary', '--json', f]);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.images[0]).toMatchObject({ opens: { ok: 1, failed: 0 }, lookups: { ok: 1, failed: 0 }, closes: 1 });
    const out = join(dir, 'fs.trace.json');
    expect(compat(['trace', 'perfetto', f, '-o', out]).status).toBe(0);
    const x = (JSON.parse(readFileSync(out, 'utf8')).traceEvents as Chrome[]).filter((e) => e.ph === 'X');
    expect(x).toHaveLength(1);
    expect(x[0]!.dur).toBeCloseTo(100, 3); // 100,000 ns between Open and Close = 100 µs
  });

  test('diff: the same soname from another path, then the edit script and local alignment', () => {
    const r = compat(['trace', 'diff', '--json', logA, logB]);
    expect(r.status).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.sets.moved).toEqual([{ name: 'libfoo.so', a: join(fx.libpath, 'libfoo.so'), b: join(dir, 'ldlib2', 'libfoo.so') }]);
    expect(d.sets.added).toEqual([]);
    expect(d.sets.removed).toEqual([]);
    expect(d.sequences.distance).toBeGreaterThan(0);
    expect(d.sequences.script).toContainEqual({ op: 'substitute', a: join(fx.libpath, 'libfoo.so'), b: join(dir, 'ldlib2', 'libfoo.so') });
    const edits = d.sequences.script.filter((o: { op: string }) => o.op !== 'keep').length;
    expect(edits).toBe(d.sequences.distance);
    expect(d.sequences.local.matches).toBeGreaterThan(10);
    const text = compat(['trace', 'diff', logA, logB]).stdout;
    expect(text).toContain(`~ libfoo.so: ${join(fx.libpath, 'libfoo.so')} -> ${join(dir, 'ldlib2', 'libfoo.so')}`);
  });

  test('matrix: symmetric distances with a zero diagonal, as a table, CSV and an SVG heat map', () => {
    const svg = join(dir, 'm.svg');
    const j = JSON.parse(compat(['trace', 'matrix', '--json', '--svg', svg, logA, logA2, logB]).stdout);
    const d = j.distances as number[][];
    for (let i = 0; i < 3; i++) {
      expect(d[i]![i]).toBe(0);
      for (let k = 0; k < 3; k++) expect(d[i]![k]).toBe(d[k]![i]);
    }
    expect(d[0]![2]).toBeGreaterThan(0);
    const csv = compat(['trace', 'matrix', '--csv', logA, logA2, logB]).stdout.trim().split('\n');
    expect(csv).toHaveLength(4);
    expect(csv[1]!.split(',').slice(1).map(Number)).toEqual(d[0]);
    const s = readFileSync(svg, 'utf8');
    expect(s.startsWith('<svg')).toBe(true);
    expect(s.match(/<rect x=/g)).toHaveLength(9);
  });

  test('perfetto: microsecond stamps, every open paired with its close as an X slice, slices nested per track, lookups as instants', () => {
    const out = join(dir, 'trace.json');
    expect(compat(['trace', 'perfetto', logA, logB, '-o', out]).status).toBe(0);
    const t = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: Chrome[] };
    const all = t.traceEvents;
    expect(new Set(all.filter((e) => e.name === 'process_name').map((e) => e.pid))).toEqual(new Set([1, 2]));
    const x = all.filter((e) => e.ph === 'X');
    // One file slice per successful open of run A.
    const opensA = events(logA).filter((e) => e.ev === 'open' && (e.fd as number) >= 0);
    expect(x.filter((e) => e.pid === 1 && e.args?.fd !== undefined)).toHaveLength(opensA.length);
    // The first open of the data file: its slice lasts until its close, in µs.
    const evA = events(logA);
    const t0 = Math.min(...evA.map((e) => e.ts as number));
    const open = evA.find((e) => e.ev === 'open' && e.path === fx.data && e.fn === 'open')!;
    const close = evA.find((e) => e.ev === 'close' && e.fd === open.fd && e.pid === open.pid && (e.ts as number) > (open.ts as number))!;
    const slice = x.find((e) => e.pid === 1 && e.args?.path === fx.data && e.args?.fn === 'open')!;
    expect(slice.ts).toBeCloseTo(((open.ts as number) - t0) / 1000, 3);
    expect(slice.dur).toBeCloseTo(((close.ts as number) - (open.ts as number)) / 1000, 3);
    expect(slice.args?.unclosed).toBeUndefined();
    // Nested on every track: a slice ends before, or inside, the one it starts in.
    const tracks = new Map<string, Chrome[]>();
    for (const e of x) {
      expect(e.dur).toBeGreaterThanOrEqual(0);
      const k = `${e.pid}/${e.tid}`;
      tracks.set(k, [...(tracks.get(k) ?? []), e]);
    }
    for (const slices of tracks.values()) {
      const sorted = slices.sort((a, b) => a.ts! - b.ts! || b.dur! - a.dur!);
      const stack: Chrome[] = [];
      for (const s of sorted) {
        while (stack.length && stack[stack.length - 1]!.ts! + stack[stack.length - 1]!.dur! <= s.ts!) stack.pop();
        const top = stack[stack.length - 1];
        if (top) expect(s.ts! + s.dur!).toBeLessThanOrEqual(top.ts! + top.dur! + 1e-6);
        stack.push(s);
      }
    }
    expect(all.some((e) => e.ph === 'i' && e.name === 'lookup compat-missing')).toBe(true);
  });

  test('markov: leave-one-out accuracy per run against the most-frequent-path baseline', () => {
    const r = compat(['trace', 'markov', '--json', logA, logA2, logB]);
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ markov: number; baseline: number; predictions: number }>;
    expect(rows).toHaveLength(3);
    for (const x of rows) {
      expect(x.predictions).toBeGreaterThan(10);
      expect(x.markov).toBeGreaterThan(x.baseline);
      expect(x.markov).toBeLessThanOrEqual(1);
    }
    expectOneLineError(compat(['trace', 'markov', logA]), /^compat: trace markov: needs at least two logs/);
  });

  test('predict: the resolver\'s LoadTrace against the run\'s, dlopen()ed objects as its blind spot', () => {
    const r = compat(['trace', 'predict', '--json', fx.app, logA]);
    expect(r.status).toBe(0);
    const p = JSON.parse(r.stdout) as { agree: number; rows: Array<{ key: string; runtime?: boolean; differ: string[]; predicted?: unknown; recorded?: unknown }> };
    expect(p.agree).toBeGreaterThanOrEqual(5); // executable, interpreter, libfoo, libbar, libc
    expect(p.rows.filter((r) => r.predicted && r.recorded)).toEqual([]);
    expect(p.rows.filter((r) => !r.predicted).map((r) => [r.key, r.runtime])).toEqual(expect.arrayContaining([[join(dir, 'plugins', 'plugin.so'), true], ['libdep.so', true]]));
    const text = compat(['trace', 'predict', fx.app, logA]).stdout;
    expect(text).toContain('loaded, not predicted: libdep.so');
  });

  test('a file that is not a trace log is one line, exit 2', () => {
    const f = join(dir, 'not-a-log.txt');
    writeFileSync(f, 'hello\n');
    expectOneLineError(compat(['trace', 'summary', f]), /^compat: .*not-a-log\.txt: line 1: not a JSON object/);
  });
});
