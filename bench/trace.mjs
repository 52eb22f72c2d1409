// Recording overhead and trace comparison speed (issue 10).
//
//   node bench/trace.mjs [--quick] [--runs N] [--update-results]
//
// Two workloads, each run uninstrumented, under the recorder (libs: LD_AUDIT only; all: LD_AUDIT +
// LD_PRELOAD), under `compat record` as a CLI (node's own start-up included), and under strace
// (ptrace per syscall, and with --seccomp-bpf so only traced calls stop). Runs are interleaved,
// the median of each is reported, and max RSS from /usr/bin/time. Then `compat trace matrix` over
// 100 synthetic logs of 2,000 events.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { updateResults } from './lib/results.mjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const RUN = join(ROOT, 'bin', 'run.js');
const MODULE = join(ROOT, 'dist', 'native', 'libcompat.so');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const runsArg = args.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(args[runsArg + 1]) : quick ? 5 : 21;

const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f1 = (x) => x.toFixed(1);
/** A ratio to two significant digits: 0.00043, not 0.000. */
const r2 = (x) => (x < 0 ? '< 0' : x === 0 ? '0' : Number(x.toPrecision(2)).toString());
const pct = (x) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`;

if (!existsSync(MODULE)) {
  log('dist/native/libcompat.so missing: npm run build (with a C compiler)');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'compat-bench-trace-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/** 50 libraries, a program needing all of them, and a 500-entry LD_LIBRARY_PATH with the real one last. */
function manyLibs() {
  const dir = join(work, 'many');
  mkdirSync(join(dir, 'libs'), { recursive: true });
  const names = Array.from({ length: 50 }, (_, i) => `l${i}`);
  for (const n of names) {
    writeFileSync(join(dir, `${n}.c`), `int ${n}(void) { return 1; }\n`);
    spawnSync('gcc', ['-shared', '-fPIC', '-o', join(dir, 'libs', `lib${n}.so`), join(dir, `${n}.c`)], { stdio: 'inherit' });
  }
  writeFileSync(join(dir, 'main.c'), `${names.map((n) => `int ${n}(void);`).join('\n')}\nint main(void) { return ${names.map((n) => `${n}()`).join(' + ')} == 50 ? 0 : 1; }\n`);
  spawnSync('gcc', ['-o', join(dir, 'app'), join(dir, 'main.c'), `-L${join(dir, 'libs')}`, ...names.map((n) => `-l${n}`)], { stdio: 'inherit' });
  const path = [];
  for (let i = 0; i < 499; i++) {
    const d = join(dir, 'path', `d${i}`);
    if (i % 2 === 0) mkdirSync(d, { recursive: true }); // half empty, half nonexistent
    path.push(d);
  }
  path.push(join(dir, 'libs'));
  return { name: '50 libraries, 500-directory LD_LIBRARY_PATH', cmd: [join(dir, 'app')], env: { LD_LIBRARY_PATH: path.join(':') } };
}

const WORKLOADS = [
  { name: "python3 -c 'import json, ssl, sqlite3, ctypes'", cmd: ['/usr/bin/python3', '-c', 'import json, ssl, sqlite3, ctypes'], env: {} },
  manyLibs(),
];

const baseEnv = () => {
  const env = { ...process.env };
  for (const k of ['LD_LIBRARY_PATH', 'LD_PRELOAD', 'LD_AUDIT', 'NODE_OPTIONS', 'COMPAT_TRACE_DIR']) delete env[k];
  return env;
};

function configs(w) {
  const logs = join(work, 'logs');
  return [
    { key: 'plain', label: 'uninstrumented', file: w.cmd[0], args: w.cmd.slice(1), env: { ...w.env } },
    { key: 'libs', label: 'recorder, --events libs (LD_AUDIT)', file: w.cmd[0], args: w.cmd.slice(1), env: { ...w.env, LD_AUDIT: MODULE, COMPAT_TRACE_DIR: logs }, logs },
    { key: 'all', label: 'recorder, --events all (LD_AUDIT + LD_PRELOAD)', file: w.cmd[0], args: w.cmd.slice(1), env: { ...w.env, LD_AUDIT: MODULE, LD_PRELOAD: MODULE, COMPAT_TRACE_DIR: logs }, logs },
    { key: 'cli', label: '`compat record --events libs` (CLI, node start-up included)', file: process.execPath, args: [RUN, 'record', '--out', join(work, 'cli.jsonl'), '--', ...w.cmd], env: { ...w.env } },
    { key: 'strace', label: '`strace -f -e trace=file`', file: 'strace', args: ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=file', ...w.cmd], env: { ...w.env } },
    { key: 'seccomp', label: '`strace -f --seccomp-bpf -e trace=file`', file: 'strace', args: ['-f', '-qq', '--seccomp-bpf', '-o', '/dev/null', '-e', 'trace=file', ...w.cmd], env: { ...w.env } },
  ];
}

function once(c) {
  if (c.logs) {
    rmSync(c.logs, { recursive: true, force: true });
    mkdirSync(c.logs);
  }
  const t = process.hrtime.bigint();
  const r = spawnSync(c.file, c.args, { env: { ...baseEnv(), ...c.env }, stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${c.label}: exit ${r.status}`);
  return ms;
}

function rssKb(c) {
  if (c.logs) {
    rmSync(c.logs, { recursive: true, force: true });
    mkdirSync(c.logs);
  }
  const out = join(work, 'time.txt');
  spawnSync('/usr/bin/time', ['-o', out, '-f', '%M', c.file, ...c.args], { env: { ...baseEnv(), ...c.env }, stdio: 'ignore' });
  return Number(readFileSync(out, 'utf8').trim().split('\n').pop());
}

function measure(w) {
  const cs = configs(w);
  const times = new Map(cs.map((c) => [c.key, []]));
  for (const c of cs) once(c); // warm the page cache
  for (let i = 0; i < RUNS; i++) for (const c of cs) times.get(c.key).push(once(c));
  const med = new Map(cs.map((c) => [c.key, median(times.get(c.key))]));
  const rss = new Map(cs.map((c) => [c.key, rssKb(c)]));
  const plain = med.get('plain');
  const over = (k) => (med.get(k) - plain) / plain;
  const rows = cs.map((c) => `| ${c.label} | ${f1(med.get(c.key))} | ${c.key === 'plain' ? '—' : pct(over(c.key))} | ${(rss.get(c.key) / 1024).toFixed(1)} |`);
  const straceOver = med.get('strace') - plain;
  const seccompOver = med.get('seccomp') - plain;
  const allOver = med.get('all') - plain;
  return {
    name: w.name,
    libs: over('libs'),
    allVsStrace: allOver / straceOver,
    allVsSeccomp: allOver / seccompOver,
    md: [`### ${w.name}`, '', `Median of ${RUNS} interleaved runs.`, '', '| configuration | wall ms | vs uninstrumented | max RSS MiB |', '|---|---|---|---|', ...rows, '', `\`all\` costs ${f1(allOver)} ms; strace ${f1(straceOver)} ms (ratio ${r2(allOver / straceOver)}), strace --seccomp-bpf ${f1(seccompOver)} ms (ratio ${r2(allOver / seccompOver)}).`, ''].join('\n'),
  };
}

/** 100 logs of 2,000 events: variants of one run with ~1 % of accesses changed, dropped or added. */
function matrixLogs() {
  const dir = join(work, 'matrix');
  mkdirSync(dir);
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const base = Array.from({ length: 2000 }, (_, i) => `/usr/lib/x86_64-linux-gnu/python3/mod${i % 700}/file${i}.py`);
  const files = [];
  for (let k = 0; k < 100; k++) {
    const seq = [];
    for (const p of base) {
      const r = rnd();
      if (r < 0.004) continue;
      seq.push(r < 0.008 ? `${p}.changed${k}` : p);
      if (r > 0.996) seq.push(`/tmp/extra${k}`);
    }
    const lines = [JSON.stringify({ compatTrace: 1, command: ['synthetic', String(k)] })];
    seq.slice(0, 2000).forEach((p, i) => lines.push(JSON.stringify({ ts: i * 1000, pid: 1, tid: 1, ev: 'open', fn: 'openat', path: p, flags: 0, fd: 3 })));
    const f = join(dir, `run${k}.jsonl`);
    writeFileSync(f, `${lines.join('\n')}\n`);
    files.push(f);
  }
  return files;
}

async function matrixBench() {
  const files = matrixLogs();
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [RUN, 'trace', 'matrix', '--csv', ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const cliMs = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`trace matrix: ${r.stderr}`);
  const { distanceMatrix } = await import(join(ROOT, 'dist', 'trace', 'matrix.js'));
  const { readLog } = await import(join(ROOT, 'dist', 'trace', 'log-file.js'));
  const logs = files.map((f) => readLog(f));
  const t2 = process.hrtime.bigint();
  const m = distanceMatrix(logs);
  const coreMs = Number(process.hrtime.bigint() - t2) / 1e6;
  const max = Math.max(...m.distances.flat());
  return { cliMs, coreMs, md: `\`compat trace matrix\` over 100 logs × 2,000 events (4,950 pairs, distances up to ${max}): **${f1(cliMs)} ms** as a CLI process (reading, parsing, node start-up included); the distances alone ${f1(coreMs)} ms in-process.\n` };
}

log(`trace bench: ${RUNS} runs per configuration`);
const results = WORKLOADS.map((w) => {
  log(`  ${w.name}`);
  return measure(w);
});
const mx = await matrixBench();
const machine = `${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}, Node ${process.versions.node}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end`;
const summary = [
  '| Target (issue 10) | Measured | Met |',
  '|---|---|---|',
  ...results.map((r) => `| libs-only recording ≤ 5 % wall time: ${r.name} | ${pct(r.libs)} | ${r.libs <= 0.05 ? 'yes' : '**no**'} |`),
  ...results.map((r) => `| \`all\` ≤ ⅕ of strace's overhead: ${r.name} | ${r2(r.allVsStrace)} of strace -f, ${r2(r.allVsSeccomp)} of strace --seccomp-bpf | ${r.allVsStrace <= 0.2 && r.allVsSeccomp <= 0.2 ? 'yes' : r.allVsStrace <= 0.2 ? 'vs strace -f yes; vs --seccomp-bpf **no**' : '**no**'} |`),
  `| trace matrix 100 × 2,000 < 2 s | ${f1(mx.cliMs)} ms (CLI) | ${mx.cliMs < 2000 ? 'yes' : '**no**'} |`,
];
const markdown = [`## Recording runs (issue 10)`, '', `Machine: ${machine}.`, '', ...summary, '', ...results.map((r) => r.md), mx.md].join('\n');
process.stdout.write(`${markdown}\n`);

if (args.includes('--update-results')) {
  const file = join(HERE, 'RESULTS.md');
  updateResults(file, 'trace', markdown);
  log(`updated ${file}`);
}
