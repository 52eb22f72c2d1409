// The location cache against the loader's own search (issue: "the Spindle question").
//
//   node bench/cache.mjs [--rounds N] [--quick] [--only many,python,slowfs]
//
// Workloads: 1. a 50-library program behind a 500-directory LD_LIBRARY_PATH; 2. python3 importing
// 30+ extension modules; 3. the first program on a FUSE file system adding 1 ms to every lookup and
// open, 32 processes started at once. Configurations, interleaved round by round: plain; the
// location cache (the audit module with the table, as `compat run` sets it up; also `compat run`
// itself as a CLI process for 1 and 2); absolute DT_NEEDED (patchelf --replace-needed over the
// whole closure: Shrinkwrap's method); the stripped search path (only the directories used).
// Time to exit is the median over the rounds; failed and successful open/stat-family calls come
// from `strace -f -c` of one run. Prints a Markdown section for bench/RESULTS.md.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, cpSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildManyLibs } from './lib/many-libs.mjs';
import { machine } from './core.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUN = join(ROOT, 'bin', 'run.js');
const MODULE = join(ROOT, 'dist', 'native', 'libcompat.so');
const PYTHON = '/usr/bin/python3';
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const rounds = Number(args[args.indexOf('--rounds') + 1]) || (quick ? 5 : 21);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : ['many', 'python', 'slowfs'];
const log = (s) => process.stderr.write(`${s}\n`);
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const ms = (v) => v.toFixed(v < 10 ? 2 : 1);

const { buildLocationCache, nativeTable } = await import(join(ROOT, 'dist', 'trace', 'location-cache.js'));
const { dependencyReport } = await import(join(ROOT, 'dist', 'host', 'deps.js'));

function timeOnce(argv, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const t = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return t;
}

/** N processes at once (ranks of a job starting together); the time until the last exits. */
function timeMany(n, argv, env) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let left = n;
    for (let i = 0; i < n; i++) {
      const c = spawn(argv[0], argv.slice(1), { env, stdio: 'ignore' });
      c.on('error', reject);
      c.on('close', (code) => {
        if (code !== 0) return reject(new Error(`${argv.join(' ')} exited ${code}`));
        if (--left === 0) resolve(Number(process.hrtime.bigint() - t0) / 1e6);
      });
    }
  });
}

const FILE_CALLS = ['open', 'openat', 'stat', 'lstat', 'newfstatat', 'statx', 'access', 'faccessat', 'faccessat2', 'readlink', 'readlinkat'];

/** Successful and failed file-system lookups of one run (strace -f -c). */
function fileCalls(argv, env) {
  const out = join(mkdtempSync(join(tmpdir(), 'compat-bench-strace-')), 'c');
  const r = spawnSync('strace', ['-f', '-qq', '-c', '-o', out, '-e', `trace=${FILE_CALLS.join(',')}`, ...argv], { env, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`strace ${argv.join(' ')} exited ${r.status}`);
  let calls = 0;
  let errors = 0;
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (!FILE_CALLS.includes(f.at(-1))) continue;
    const nums = f.slice(0, -1).map(Number);
    // columns: % time, seconds, usecs/call, calls, [errors]
    calls += nums[3];
    errors += nums.length > 4 ? nums[4] : 0;
  }
  rmSync(dirname(out), { recursive: true, force: true });
  return { failed: errors, ok: calls - errors };
}

/**
 * Shrinkwrap's method without touching the system: every object of each program's closure copied
 * into `dir` with its DT_NEEDED entries rewritten to the copies' absolute paths (the interpreter
 * stays where the kernel maps it from). Returns the copy of each program.
 */
function absoluteNeeded(programs, dir, env) {
  mkdirSync(dir, { recursive: true });
  const copies = new Map();
  const copyOf = (p) => {
    if (!copies.has(p)) {
      let name = basename(p);
      while ([...copies.values()].includes(join(dir, name))) name = `_${name}`;
      copies.set(p, join(dir, name));
      copyFileSync(p, join(dir, name));
      chmodSync(join(dir, name), 0o755);
    }
    return copies.get(p);
  };
  const edits = new Map();
  for (const prog of programs) {
    const r = dependencyReport(prog, { ldLibraryPath: env.LD_LIBRARY_PATH ?? '' });
    const interp = r.trace.objects.find((o) => o.via === 'interpreter')?.path;
    const pathOf = new Map(r.trace.objects.map((o) => [o.path, o.path]));
    for (const s of r.trace.searches) {
      if (!s.path || s.name.includes('/') || !pathOf.has(s.path)) continue;
      const target = s.path === interp ? interp : copyOf(s.path);
      const from = copyOf(s.requestedBy);
      if (!edits.has(from)) edits.set(from, new Map());
      edits.get(from).set(s.name, target);
    }
    copyOf(prog);
  }
  for (const [file, names] of edits) {
    const a = [];
    for (const [name, target] of names) a.push('--replace-needed', name, target);
    execFileSync('patchelf', [...a, file]);
  }
  return programs.map((p) => copies.get(p));
}

function cacheEnv(base, cache, dir) {
  const table = join(dir, `table-${Math.random().toString(36).slice(2)}`);
  writeFileSync(table, nativeTable(cache));
  return { ...base, LD_AUDIT: MODULE, COMPAT_CACHE_TABLE: table };
}

async function measure(name, configs, rounds, runOne) {
  const times = Object.fromEntries(configs.map((c) => [c.name, []]));
  for (let r = 0; r < rounds + 1; r++) {
    for (const c of configs) {
      const t = await runOne(c);
      if (r > 0) times[c.name].push(t); // the first round warms the page cache
    }
  }
  const rows = configs.map((c) => ({ name: c.name, median: median(times[c.name]), calls: c.calls ? c.calls() : undefined }));
  log(`[${name}] ${rows.map((r) => `${r.name} ${ms(r.median)} ms`).join(', ')}`);
  return rows;
}

async function workloadMany(tmp) {
  const dir = join(tmp, 'many');
  const built = buildManyLibs(dir, { count: 50, dirs: 500 });
  const base = { ...process.env, LD_LIBRARY_PATH: built.ldLibraryPath };
  const cache = buildLocationCache([built.app], { ldLibraryPath: built.ldLibraryPath });
  const [abs] = absoluteNeeded([built.app], join(tmp, 'many-abs'), base);
  const cached = cacheEnv(base, cache, tmp);
  const stripped = { ...process.env, LD_LIBRARY_PATH: built.usedPath };
  const file = join(tmp, 'many.cache.json');
  writeFileSync(file, JSON.stringify(cache));
  const configs = [
    { name: 'plain', argv: [built.app], env: base },
    { name: 'cache (compat cache env)', argv: [built.app], env: cached },
    { name: 'compat run (CLI)', argv: [process.execPath, RUN, 'run', '--cache', file, '--', built.app], env: base, noCalls: true },
    { name: 'absolute DT_NEEDED', argv: [abs], env: base },
    { name: 'stripped path', argv: [built.app], env: stripped },
  ];
  for (const c of configs) if (!c.noCalls) c.calls = () => fileCalls(c.argv, c.env);
  return { title: '1. 50 libraries, 500-directory LD_LIBRARY_PATH', rows: await measure('many', configs, rounds, (c) => timeOnce(c.argv, c.env)) };
}

function pythonModules() {
  const dynload = '/usr/lib/python3.11/lib-dynload';
  const skip = /^(_test|_xx|xx|_ctypes_test|ossaudiodev|nis|_crypt|audioop|_curses_panel|_dbm|_tkinter)/;
  return readdirSync(dynload)
    .filter((f) => f.endsWith('.so') && !skip.test(f))
    .map((f) => ({ file: join(dynload, f), module: f.split('.')[0] }));
}

async function workloadPython(tmp) {
  const mods = pythonModules();
  const code = `import ${mods.map((m) => m.module).join(', ')}`;
  const base = { ...process.env, PYTHONHOME: '/usr', PYTHONDONTWRITEBYTECODE: '1' };
  delete base.LD_LIBRARY_PATH;
  delete base.PYTHONPATH;
  const programs = [PYTHON, ...mods.map((m) => m.file)];
  const cache = buildLocationCache(programs, { ldLibraryPath: '' });
  const absDir = join(tmp, 'py-abs');
  const [absPython, ...absMods] = absoluteNeeded(programs, absDir, base);
  // The patched modules first on sys.path, under their own names.
  const modDir = join(tmp, 'py-abs-modules');
  mkdirSync(modDir, { recursive: true });
  absMods.forEach((p, i) => cpSync(p, join(modDir, basename(mods[i].file))));
  const stripped = { ...base, LD_LIBRARY_PATH: '/lib/x86_64-linux-gnu' };
  const file = join(tmp, 'py.cache.json');
  writeFileSync(file, JSON.stringify(cache));
  const configs = [
    { name: 'plain', argv: [PYTHON, '-c', code], env: base },
    { name: 'cache (compat cache env)', argv: [PYTHON, '-c', code], env: cacheEnv(base, cache, tmp) },
    { name: 'compat run (CLI)', argv: [process.execPath, RUN, 'run', '--cache', file, '--', PYTHON, '-c', code], env: base, noCalls: true },
    { name: 'absolute DT_NEEDED', argv: [absPython, '-c', code], env: { ...base, PYTHONPATH: modDir } },
    { name: 'stripped path', argv: [PYTHON, '-c', code], env: stripped },
  ];
  for (const c of configs) if (!c.noCalls) c.calls = () => fileCalls(c.argv, c.env);
  return { title: `2. python3 importing ${mods.length} extension modules`, rows: await measure('python', configs, rounds, (c) => timeOnce(c.argv, c.env)) };
}

async function mounted(src, mnt, latencyMs) {
  mkdirSync(mnt, { recursive: true });
  const fs = spawn('/usr/bin/python3', [join(ROOT, 'bench', 'slowfs.py'), src, mnt, String(latencyMs)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 10000;
  while (!readFileSync('/proc/mounts', 'utf8').includes(` ${mnt} `)) {
    if (Date.now() > deadline || fs.exitCode !== null) throw new Error('slowfs did not mount (is /dev/fuse available and fusermount3 installed?)');
    await new Promise((r) => setTimeout(r, 50));
  }
  return async () => {
    spawnSync('fusermount3', ['-u', mnt]);
    await new Promise((r) => (fs.exitCode !== null ? r() : fs.on('exit', r)));
  };
}

async function workloadSlowFs(tmp, { latencyMs = 1, ranks = 32, dirs = 20 } = {}) {
  const src = join(tmp, 'slow-src');
  const built = buildManyLibs(src, { count: 50, dirs });
  const mnt = join(tmp, 'slow-mnt');
  const unmount = await mounted(src, mnt, latencyMs);
  try {
    const on = (p) => p.split(src).join(mnt);
    const app = on(built.app);
    const llp = on(built.ldLibraryPath);
    const base = { ...process.env, LD_LIBRARY_PATH: llp };
    const cache = buildLocationCache([app], { ldLibraryPath: llp });
    const absDir = join(src, 'abs');
    const [absSrc] = absoluteNeeded([built.app], absDir, { LD_LIBRARY_PATH: built.ldLibraryPath });
    // The copies refer to each other by their paths on the source: point them at the mount.
    const abs = on(absSrc);
    for (const f of readdirSync(absDir)) {
      const p = join(absDir, f);
      const needed = execFileSync('patchelf', ['--print-needed', p], { encoding: 'utf8' }).split('\n').filter((n) => n.startsWith(src));
      if (needed.length) execFileSync('patchelf', [...needed.flatMap((n) => ['--replace-needed', n, on(n)]), p]);
    }
    const configs = [
      { name: 'plain', argv: [app], env: base },
      { name: 'cache (compat cache env)', argv: [app], env: cacheEnv(base, cache, tmp) },
      { name: 'absolute DT_NEEDED', argv: [abs], env: base },
      { name: 'stripped path', argv: [app], env: { ...process.env, LD_LIBRARY_PATH: on(built.usedPath) } },
    ];
    for (const c of configs) c.calls = () => fileCalls(c.argv, c.env);
    const n = quick ? Math.min(rounds, 5) : rounds;
    return { title: `3. slow file system (FUSE, +${latencyMs} ms per lookup and open; ${dirs}-directory path; ${ranks} processes at once)`, rows: await measure('slowfs', configs, n, (c) => timeMany(ranks, c.argv, c.env)) };
  } finally {
    await unmount();
  }
}

function markdown(results) {
  const m = machine();
  const L = ['## Location cache (`compat cache build` / `compat run`) vs the loader\'s search', '', `Machine: ${m.cpu}, ${m.cores} cores, ${m.memory}; ${m.os}; glibc ${m.glibc}. Median of ${rounds} rounds after one warm-up, configurations interleaved.`, ''];
  for (const w of results) {
    const plain = w.rows.find((r) => r.name === 'plain');
    const abs = w.rows.find((r) => r.name === 'absolute DT_NEEDED');
    L.push(`### ${w.title}`, '', '| configuration | time to exit | vs plain | vs absolute DT_NEEDED | failed lookups | successful lookups |', '|---|---|---|---|---|---|');
    for (const r of w.rows) {
      const c = r.calls ?? {};
      L.push(`| ${r.name} | ${ms(r.median)} ms | ${(plain.median / r.median).toFixed(2)}× faster | ${(r.median / abs.median).toFixed(2)}× its time | ${c.failed ?? '—'} | ${c.ok ?? '—'} |`);
    }
    L.push('');
  }
  return L.join('\n');
}

const tmp = mkdtempSync(join(tmpdir(), 'compat-bench-cache-'));
try {
  if (!existsSync(MODULE)) throw new Error(`${MODULE} missing: npm run build (needs gcc)`);
  const results = [];
  if (only.includes('many')) results.push(await workloadMany(tmp));
  if (only.includes('python')) results.push(await workloadPython(tmp));
  if (only.includes('slowfs')) results.push(await workloadSlowFs(tmp));
  process.stdout.write(`${markdown(results)}\n`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
