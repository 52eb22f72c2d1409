// compat core benchmarks: gen throughput, loader-model agreement with ldd, host index, check latency.
//
//   node bench/core.mjs [--quick] [--only gen,oracle,scan,check] [--md FILE]
//
// Needs a built dist/ (bench/run.js builds it when missing). Every figure is measured in the same
// run on this machine and printed as a markdown section at the end (also written to --md FILE).
// Reads ELF files and asks ldd/libtree about them; runs none of the binaries it measures.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const RUN = join(ROOT, 'bin', 'run.js');
// What a user runs: the launcher (it defers NODE_EXTRA_CA_CERTS; see bin/compat).
const CLI = join(ROOT, 'bin', 'compat');
const SECTIONS = ['gen', 'oracle', 'symbols', 'scan', 'check'];

const TARGETS = {
  genVsLdd: 7, // compat gen at least 7x faster than an ldd loop (issue 8, with symbols)
  genVsLibtree: 2, // ... and 2x faster than a libtree loop
  coldScanMs: 1000,
  warmLoadMs: 50,
};

// ---------------------------------------------------------------------------------------------
// helpers

const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
const now = () => performance.now();
const median = (xs) => quantile(xs, 0.5);
function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  if (q === 0.5) {
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  }
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
const ms = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const sec = (x) => (x / 1000).toFixed(2);
const ratio = (x) => (x >= 10 ? x.toFixed(1) : x.toFixed(2));
const met = (ok) => (ok ? 'yes' : '**no — missed**');

/** Environment for child processes: no LD_LIBRARY_PATH/LD_PRELOAD leaking into ldd or the index. */
function childEnv(extra = {}) {
  // bin/compat runs the `node` on PATH: the one running this benchmark.
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, ...extra };
  delete env.LD_LIBRARY_PATH;
  delete env.LD_PRELOAD;
  delete env.NODE_OPTIONS;
  return env;
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Wall time of one child process, spawned directly (no shell), output discarded. */
function timeSpawn(cmd, args, opts = {}) {
  const t0 = now();
  const r = spawnSync(cmd, args, { stdio: 'ignore', env: opts.env ?? childEnv(), timeout: opts.timeout ?? 600_000, cwd: opts.cwd ?? ROOT });
  const t = now() - t0;
  if (r.error) throw r.error;
  return { ms: t, status: r.status };
}

function isElf(p) {
  let fd;
  try {
    fd = openSync(p, 'r');
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32BE(0) === 0x7f454c46;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Regular files (not symbolic links) that start with the ELF magic; optionally recursive. */
function regularElfFiles(dir, recursive = false) {
  const out = [];
  let names;
  try {
    names = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = `${dir}/${e.name}`;
    if (e.isFile()) {
      if (isElf(p)) out.push(p);
    } else if (recursive && e.isDirectory()) out.push(...regularElfFiles(p, true));
  }
  return out;
}

/** Every `step`-th element: an even sample for --quick. */
const sample = (xs, n) => (xs.length <= n ? xs : xs.filter((_, i) => i % Math.ceil(xs.length / n) === 0));

async function pool(items, width, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env: opts.env ?? childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    c.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), opts.timeout ?? 30_000);
    c.on('error', reject);
    c.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout: out, stderr: err });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// machine

export function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const mhz = /^cpu MHz\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim();
  const logical = (cpuinfo.match(/^processor\s*:/gm) ?? []).length || cpus().length;
  const osRelease = existsSync('/etc/os-release') ? /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] : undefined;
  const glibc = process.report?.getReport?.().header?.glibcVersionRuntime ?? spawnSync('ldd', ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0];
  let disk = 'unknown';
  const df = spawnSync('df', ['-hT', '/usr'], { encoding: 'utf8' });
  if (df.status === 0) {
    const f = df.stdout.trim().split('\n').at(-1).split(/\s+/);
    const dev = f[0];
    const base = dev.replace(/^\/dev\//, '').replace(/p?\d+$/, '');
    let rot = '';
    try {
      rot = readFileSync(`/sys/block/${base}/queue/rotational`, 'utf8').trim() === '1' ? ', kernel reports rotational' : ', kernel reports non-rotational';
    } catch {
      /* not a plain block device */
    }
    disk = `${dev} (${f[1]}, ${f[2]}${rot}); files read from the page cache after the first pass`;
  }
  const hypervisor = /\bhypervisor\b/.test(cpuinfo) ? ' (virtual machine)' : '';
  return {
    cpu: `${model}${mhz ? ` @ ${Number(mhz).toFixed(0)} MHz` : ''}${hypervisor}`,
    cores: `${logical} logical CPU${logical === 1 ? '' : 's'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    disk,
    os: `${osRelease ?? 'Linux'}, kernel ${release()}`,
    node: process.env.NODE_EXTRA_CA_CERTS ? `${process.version}; NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS} (bin/compat defers it; \`node -e 0\` pays it)` : process.version,
    glibc: glibc ? `glibc ${String(glibc).replace(/^.*\s(\d+\.\d+)$/, '$1')}` : 'unknown',
    ldd: spawnSync('ldd', ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0] ?? 'absent',
    libtree: spawnSync('libtree', ['--version'], { encoding: 'utf8' }).stdout?.trim() || 'absent',
  };
}

// ---------------------------------------------------------------------------------------------
// a. gen over /usr/bin versus an ldd loop and a libtree loop

async function benchGen(quick) {
  const files = regularElfFiles('/usr/bin');
  const tmp = mkdtempSync(join(tmpdir(), 'compat-bench-gen-'));
  const out = join(tmp, 'usr-bin.compat.json');
  const rounds = quick ? 1 : 5;
  const warmup = 1; // the first process pays for cold files and code; even --quick throws it away
  // The loops a user would write: one shell, one ldd (or libtree) process per file, sequentially.
  const loop = (tool) => ['sh', ['-c', `for f in "$@"; do ${tool} "$f" >/dev/null 2>&1; done`, 'sh', ...files]];
  const cmds = {
    compat: [CLI, ['gen', ...files, '-o', out]],
    ldd: loop('ldd'),
    ...(which('libtree') ? { libtree: loop('libtree') } : {}),
  };
  log(`[gen] ${files.length} regular ELF files in /usr/bin; ${warmup} warm-up + ${rounds} round(s) of: ${Object.keys(cmds).join(', ')}`);
  const times = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]));
  const status = {};
  for (let r = 0; r < warmup + rounds; r++) {
    // Interleaved, so drift (thermal, page cache, neighbours) hits every contender alike.
    const line = [];
    for (const [k, [cmd, args]] of Object.entries(cmds)) {
      const t = timeSpawn(cmd, args);
      status[k] = t.status;
      if (r >= warmup) times[k].push(t.ms);
      line.push(`${k} ${sec(t.ms)} s`);
    }
    log(`[gen]   round ${r + 1}${r < warmup ? ' (warm-up)' : ''}: ${line.join(', ')}`);
  }
  if (status.compat !== 0) throw new Error(`compat gen exited ${status.compat}`);
  const spec = JSON.parse(readFileSync(out, 'utf8'));

  // The same work in-process (no node/oclif start-up): what a long-lived caller pays.
  const { generateSpec } = await import('../dist/artifact/gen.js');
  const inproc = [];
  for (let r = 0; r < (quick ? 1 : 3); r++) {
    const t0 = now();
    generateSpec(files);
    inproc.push(now() - t0);
  }
  rmSync(tmp, { recursive: true, force: true });
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  return {
    files: files.length,
    binaries: spec.binaries.length,
    rounds,
    median: m,
    all: times,
    inProcessMs: median(inproc),
    lddRatio: m.ldd / m.compat,
    libtreeRatio: m.libtree !== undefined ? m.libtree / m.compat : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// b. agreement with ldd over every dynamically linked ELF object

/** ldd's answer as a set of "name => path" / "name => not found" lines. */
export function parseLdd(stdout) {
  const set = new Set();
  const unparsed = [];
  let statik = false;
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (/^linux-(vdso|gate)\.so/.test(line)) continue;
    if (line === 'statically linked' || line === 'not a dynamic executable') {
      statik = true;
      continue;
    }
    let m;
    if ((m = /^(.+?) => not found$/.exec(line))) set.add(`${m[1]} => not found`);
    else if ((m = /^(.+?) => (.+?) \(0x[0-9a-f]+\)$/.exec(line))) set.add(`${m[1]} => ${m[2]}`);
    else if ((m = /^(.+?) \(0x[0-9a-f]+\)$/.exec(line))) set.add(`${m[1]} => ${m[1]}`);
    else unparsed.push(line);
  }
  return { set, statik, unparsed };
}

/** compat's answer in the same shape. The loader is listed only when some object names it, as ldd does. */
export function compatSet(res) {
  const set = new Set();
  res.objects.forEach((o, i) => {
    if (i === 0) return;
    if (o.via === 'interpreter') {
      if (res.edges.some((e) => e.to === i)) set.add(`${o.path} => ${o.path}`);
      return;
    }
    set.add(`${o.name} => ${o.path}`);
  });
  for (const m of res.missing) set.add(`${m.name} => not found`);
  return set;
}

async function benchOracle(quick) {
  const { probeFile } = await import('../dist/host/elf.js');
  const { DiskLoader } = await import('../dist/host/loader.js');
  const dirs = [
    ['/usr/bin', false],
    ['/usr/sbin', false],
    ['/usr/lib/x86_64-linux-gnu', true],
  ];
  let candidates = dirs.flatMap(([d, rec]) => regularElfFiles(d, rec));
  const perDir = {};
  const objects = [];
  let unreadable = 0;
  for (const p of candidates) {
    let k;
    try {
      k = probeFile(p);
    } catch {
      unreadable++;
      continue;
    }
    if (k.kind !== 'elf') continue;
    const e = k.elf;
    // Dynamically linked: has PT_DYNAMIC and either a program interpreter or DT_NEEDED entries.
    if (!e.dynamic || !(e.type === 'exec' || e.type === 'dyn')) continue;
    if (!e.interpreter && e.needed.length === 0) continue;
    objects.push({ path: p, elf: e });
  }
  const population = objects.length;
  const chosen = quick ? sample(objects, 150) : objects;
  for (const o of chosen) {
    const d = dirs.find(([dd]) => o.path.startsWith(`${dd}/`))[0];
    perDir[d] = (perDir[d] ?? 0) + 1;
  }
  log(`[oracle] ${population} dynamically linked ELF objects (of ${candidates.length} regular ELF files); comparing ${chosen.length} with ldd`);

  const loader = new DiskLoader();
  const t0 = now();
  const ours = chosen.map((o) => {
    try {
      return { set: compatSet(loader.resolve(o.path, o.elf)) };
    } catch (e) {
      return { error: String(e?.message ?? e) };
    }
  });
  const compatMs = now() - t0;

  const t1 = now();
  const theirs = await pool(chosen, Math.max(1, cpus().length), async (o) => {
    const real = realpathSync(o.path);
    const r = await run('ldd', [real]);
    return { real, status: r.status, ...parseLdd(r.stdout), stderr: r.stderr };
  });
  const lddMs = now() - t1;

  let agree = 0;
  let lddDeclined = 0;
  let pairs = 0;
  let notFound = 0;
  let withOrigin = 0;
  let withRunpath = 0;
  let withRpath = 0;
  const disagreements = [];
  chosen.forEach((o, i) => {
    const a = ours[i];
    const b = theirs[i];
    if (b.statik && b.set.size === 0 && b.status !== 0) {
      // ldd would not trace it (e.g. another machine's object): nothing to compare against.
      lddDeclined++;
      disagreements.push({ path: o.path, note: `ldd declined: ${b.stderr.trim().split('\n')[0] || 'not a dynamic executable'}`, onlyCompat: a.set ? [...a.set] : [], onlyLdd: [] });
      return;
    }
    if (a.error) {
      disagreements.push({ path: o.path, note: `compat error: ${a.error}`, onlyCompat: [], onlyLdd: [...b.set] });
      return;
    }
    const onlyCompat = [...a.set].filter((x) => !b.set.has(x));
    const onlyLdd = [...b.set].filter((x) => !a.set.has(x));
    pairs += b.set.size;
    for (const x of b.set) if (x.endsWith(' => not found')) notFound++;
    if ([...(o.elf.rpath ?? []), ...(o.elf.runpath ?? [])].some((d) => d.includes('ORIGIN'))) withOrigin++;
    if (o.elf.runpath) withRunpath++;
    if (o.elf.rpath) withRpath++;
    if (onlyCompat.length === 0 && onlyLdd.length === 0 && b.unparsed.length === 0) agree++;
    else disagreements.push({ path: o.path, note: b.unparsed.length ? `unparsed ldd output: ${b.unparsed.join(' | ')}` : '', onlyCompat, onlyLdd });
  });
  return { population, total: chosen.length, agree, lddDeclined, pairs, notFound, withOrigin, withRunpath, withRpath, perDir, unreadable, disagreements, compatMs, lddMs, sampled: quick };
}

// ---------------------------------------------------------------------------------------------
// b2. agreement with `ldd -r` (undefined symbols) over the same objects

/** `ldd -r`'s "undefined symbol: X[, version V]\t(object)" lines as `X@V object`. */
export function parseLddR(out) {
  return new Set([...out.matchAll(/undefined symbol: (\S+?)(?:, version (\S+))?\t\((.*)\)/g)].map((m) => `${m[1]}@${m[2] ?? ''} ${m[3]}`));
}

async function benchSymbols(quick) {
  const { probeFile } = await import('../dist/host/elf.js');
  const { DiskLoader } = await import('../dist/host/loader.js');
  const { undefinedSymbols } = await import('../dist/host/undefined-symbols.js');
  const objects = [];
  for (const p of ['/usr/bin', '/usr/sbin'].flatMap((d) => regularElfFiles(d, false)).concat(regularElfFiles('/usr/lib/x86_64-linux-gnu', true))) {
    let k;
    try {
      k = probeFile(p);
    } catch {
      continue;
    }
    if (k.kind !== 'elf' || !k.elf.dynamic || !(k.elf.type === 'exec' || k.elf.type === 'dyn') || (!k.elf.interpreter && k.elf.needed.length === 0)) continue;
    objects.push(p);
  }
  const chosen = quick ? sample(objects, 150) : objects;
  log(`[symbols] comparing ${chosen.length} objects with ldd -r`);
  const loader = new DiskLoader();
  const t0 = now();
  const ours = chosen.map((p) => {
    try {
      return { set: new Set(undefinedSymbols(realpathSync(p), loader).map((u) => `${u.symbol}@${u.version ?? ''} ${u.object}`)) };
    } catch (e) {
      return { error: String(e?.message ?? e) };
    }
  });
  const compatMs = now() - t0;
  const t1 = now();
  const theirs = await pool(chosen, Math.max(1, cpus().length), async (p) => {
    const r = await run('ldd', ['-r', realpathSync(p)]);
    return { set: parseLddR(`${r.stdout}${r.stderr}`) };
  });
  const lddMs = now() - t1;
  let agree = 0;
  let findings = 0;
  let withFindings = 0;
  const disagreements = [];
  chosen.forEach((p, i) => {
    const a = ours[i];
    const b = theirs[i].set;
    findings += b.size;
    if (b.size) withFindings++;
    if (a.error) return disagreements.push({ path: p, note: `compat error: ${a.error}`, onlyCompat: [], onlyLdd: [...b] });
    const onlyCompat = [...a.set].filter((x) => !b.has(x));
    const onlyLdd = [...b].filter((x) => !a.set.has(x));
    if (onlyCompat.length === 0 && onlyLdd.length === 0) agree++;
    else disagreements.push({ path: p, note: '', onlyCompat, onlyLdd });
  });
  return { total: chosen.length, agree, findings, withFindings, disagreements, compatMs, lddMs, sampled: quick };
}

// ---------------------------------------------------------------------------------------------
// c. host scan: cold (no index) and warm (a saved, fresh index)

async function benchScan(quick) {
  const { scanHost, saveIndex, loadOrScan } = await import('../dist/host/host-index.js');
  const coldRuns = quick ? 3 : 7;
  const warmRuns = quick ? 5 : 20;
  const cold = [];
  let index;
  for (let i = 0; i < coldRuns; i++) {
    const t0 = now();
    index = scanHost({});
    cold.push(now() - t0);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'compat-bench-index-'));
  const file = join(tmp, 'host-index.json');
  saveIndex(index, file);
  const warm = [];
  for (let i = 0; i < warmRuns; i++) {
    const t0 = now();
    const r = loadOrScan({ indexFile: file });
    warm.push(now() - t0);
    if (r.how !== 'loaded') throw new Error(`warm run ${i} rescanned instead of loading the saved index`);
  }
  const size = statSync(file).size;
  rmSync(tmp, { recursive: true, force: true });
  const res = {
    coldRuns,
    warmRuns,
    coldFirstMs: cold[0],
    coldMedianMs: median(cold),
    warmMedianMs: median(warm),
    warmP90Ms: quantile(warm, 0.9),
    libraries: Object.keys(index.objects).length,
    directories: Object.keys(index.dirs).length,
    cacheEntries: index.cacheEntries.length,
    indexBytes: size,
  };
  log(`[scan] cold median ${ms(res.coldMedianMs)} ms (first ${ms(res.coldFirstMs)} ms); warm median ${ms(res.warmMedianMs)} ms`);
  return res;
}

// ---------------------------------------------------------------------------------------------
// d. compat check end to end, with a warm index, against node's floor and ldd

async function benchCheck(quick) {
  const runs = quick ? 5 : 20;
  const tmp = mkdtempSync(join(tmpdir(), 'compat-bench-check-'));
  const env = childEnv({ XDG_CACHE_HOME: join(tmp, 'cache') });
  const spec = join(tmp, 'xz.compat.json');
  const prep = (args) => {
    const r = spawnSync(process.execPath, [RUN, ...args], { env, encoding: 'utf8', cwd: ROOT });
    if (r.status !== 0) throw new Error(`compat ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  };
  prep(['host', 'scan']);
  prep(['gen', '/usr/bin/xz', '-o', spec]);
  const indexFile = join(tmp, 'cache', 'compat', 'host-index.json');
  const before = statSync(indexFile).mtimeMs;

  const cmds = {
    check: [CLI, ['check', spec]],
    node: [process.execPath, ['-e', '0']],
    cli: [CLI, ['--version']],
    ldd: ['ldd', ['/usr/bin/xz']],
    spawn: ['/bin/true', []],
  };
  const times = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]));
  const status = {};
  for (let r = 0; r < runs + 2; r++) {
    for (const [k, [cmd, args]] of Object.entries(cmds)) {
      const t = timeSpawn(cmd, args, { env });
      status[k] = t.status;
      if (r >= 2) times[k].push(t.ms); // two warm-up rounds
    }
  }
  const rescanned = statSync(indexFile).mtimeMs !== before;
  rmSync(tmp, { recursive: true, force: true });
  if (status.check !== 0) throw new Error(`compat check on the xz spec exited ${status.check} (expected 0, compatible)`);
  const stats = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, { median: median(v), p90: quantile(v, 0.9), min: Math.min(...v) }]));
  log(`[check] ${runs} runs: check ${ms(stats.check.median)} ms (p90 ${ms(stats.check.p90)}), node -e 0 ${ms(stats.node.median)} ms, ldd ${ms(stats.ldd.median)} ms`);
  return { runs, stats, exit: status.check, rescanned };
}

// ---------------------------------------------------------------------------------------------
// report

export function markdown(r) {
  const L = [];
  const m = r.machine;
  L.push(`## Core benchmarks`, '');
  L.push(`Run ${r.date}${r.quick ? ' with `--quick` (reduced samples: smoke run, not for quoting)' : ''}; the core benchmarks took ${sec(r.totalMs)} s. Load average at the start: ${r.load}.`, '');
  L.push('| Machine | |', '|---|---|');
  L.push(`| CPU | ${m.cpu} |`, `| Cores | ${m.cores} |`, `| Memory | ${m.memory} |`, `| Disk | ${m.disk} |`, `| OS | ${m.os} |`, `| Node | ${m.node} |`, `| C library | ${m.glibc} (${m.ldd}) |`, `| libtree | ${m.libtree} |`, '');

  L.push('| Measure | compat | peer | ratio | target | met |', '|---|---|---|---|---|---|');
  const g = r.gen;
  if (g) {
    L.push(`| \`gen\` over ${g.files} ELF files in /usr/bin (one process) vs \`ldd\` once per file | ${sec(g.median.compat)} s | ${sec(g.median.ldd)} s | ${ratio(g.lddRatio)}× | ≥ ${TARGETS.genVsLdd}× | ${met(g.lddRatio >= TARGETS.genVsLdd)} |`);
    if (g.libtreeRatio !== undefined) L.push(`| … vs \`libtree\` once per file | ${sec(g.median.compat)} s | ${sec(g.median.libtree)} s | ${ratio(g.libtreeRatio)}× | ≥ ${TARGETS.genVsLibtree}× | ${met(g.libtreeRatio >= TARGETS.genVsLibtree)} |`);
    else L.push(`| … vs \`libtree\` once per file | ${sec(g.median.compat)} s | libtree not installed | — | ≥ ${TARGETS.genVsLibtree}× | not measured |`);
  }
  const o = r.oracle;
  if (o) L.push(`| Resolution agrees with \`ldd\` (name → path / not found) | ${o.agree} / ${o.total - o.lddDeclined} | — | ${((100 * o.agree) / Math.max(1, o.total - o.lddDeclined)).toFixed(1)} % | all | ${met(o.agree === o.total - o.lddDeclined)} |`);
  const y = r.symbols;
  if (y) L.push(`| Undefined symbols agree with \`ldd -r\` | ${y.agree} / ${y.total} | — | ${((100 * y.agree) / Math.max(1, y.total)).toFixed(1)} % | all | ${met(y.agree === y.total)} |`);
  const s = r.scan;
  if (s) {
    L.push(`| \`host scan\` cold (in-process \`scanHost\`, median of ${s.coldRuns}) | ${ms(s.coldMedianMs)} ms | — | — | < ${TARGETS.coldScanMs} ms | ${met(s.coldMedianMs < TARGETS.coldScanMs)} |`);
    L.push(`| host index warm (\`loadOrScan\` of a saved index, median of ${s.warmRuns}) | ${ms(s.warmMedianMs)} ms | — | — | < ${TARGETS.warmLoadMs} ms | ${met(s.warmMedianMs < TARGETS.warmLoadMs)} |`);
  }
  const c = r.check;
  if (c) {
    const st = c.stats;
    L.push(`| \`compat check\` xz spec, CLI, warm index (median / p90 of ${c.runs}) vs \`ldd /usr/bin/xz\` | ${ms(st.check.median)} / ${ms(st.check.p90)} ms | ${ms(st.ldd.median)} / ${ms(st.ldd.p90)} ms | ${ratio(st.check.median / st.ldd.median)}× slower | none set | — |`);
    L.push(`| … floor: \`node -e 0\` | ${ms(st.node.median)} / ${ms(st.node.p90)} ms | | check − floor = ${ms(st.check.median - st.node.median)} ms | | |`);
    L.push(`| … CLI start-up: \`compat --version\` | ${ms(st.cli.median)} / ${ms(st.cli.p90)} ms | | check − start-up = ${ms(st.check.median - st.cli.median)} ms | | |`);
  }
  L.push('');

  if (g) {
    L.push(`### a. \`gen\` throughput`, '');
    L.push(`${g.files} regular ELF files in /usr/bin (symbolic links left out), ${g.binaries} binaries in the spec. Wall time of the whole process, median of ${g.rounds} interleaved round(s) after ${r.quick ? 'no' : 'one'} warm-up; peers run as \`sh -c 'for f in "$@"; do TOOL "$f" >/dev/null 2>&1; done'\` — the cheapest per-file loop a user would write.`, '');
    L.push('| | median | all runs (s) |', '|---|---|---|');
    for (const [k, v] of Object.entries(g.all)) L.push(`| ${k === 'compat' ? '`compat gen … -o spec.json`' : `\`${k}\` loop`} | ${sec(g.median[k])} s | ${v.map(sec).join(', ')} |`);
    L.push('', `In-process \`generateSpec\` over the same files (no node/oclif start-up): ${ms(g.inProcessMs)} ms; the rest of the CLI figure is node and oclif start-up (see d), a cold JIT and writing the spec.`, '');
  }
  if (o) {
    L.push(`### b. Agreement with \`ldd\``, '');
    L.push(`${o.sampled ? `A sample of ${o.total} of ` : 'All '}${o.population} dynamically linked ELF objects (PT_DYNAMIC with PT_INTERP or DT_NEEDED; regular files, /usr/lib/x86_64-linux-gnu recursively): ${Object.entries(o.perDir).map(([d, n]) => `${d} ${n}`).join(', ')}. Each compared as the set of \`name => path\` / \`name => not found\` from one \`DiskLoader\` against \`ldd <realpath>\`; the loader counted only when some object names it; linux-vdso skipped.`, '');
    L.push(`Agree: **${o.agree} / ${o.total - o.lddDeclined}**${o.lddDeclined ? ` (${o.lddDeclined} more that ldd declined to trace, listed below)` : ''}. ${o.pairs} name → path pairs in ldd's answers, ${o.notFound} of them \`not found\`; ${o.withRunpath} objects have a DT_RUNPATH and ${o.withRpath} a DT_RPATH; ${o.withOrigin} use \`$ORIGIN\`. compat resolved all ${o.total} in ${ms(o.compatMs)} ms in-process; ldd took ${sec(o.lddMs)} s (${cpus().length} at a time).`, '');
    if (o.disagreements.length) {
      L.push('| object | note | only compat | only ldd |', '|---|---|---|---|');
      const cell = (xs) => (xs.length ? xs.map((x) => `\`${x}\``).join('<br>') : '—');
      for (const d of o.disagreements.slice(0, 50)) L.push(`| \`${d.path}\` | ${d.note || ''} | ${cell(d.onlyCompat)} | ${cell(d.onlyLdd)} |`);
      if (o.disagreements.length > 50) L.push(`| … ${o.disagreements.length - 50} more | | | |`);
      L.push('');
    } else L.push('No disagreements.', '');
  }
  if (y) {
    L.push(`### b2. Agreement with \`ldd -r\` (symbols)`, '');
    L.push(`${y.sampled ? 'A sample of ' : 'All '}${y.total} of the same objects: \`undefinedSymbols(realpath)\` (the load graph of one \`DiskLoader\`, every object's references read from disk and bound over the global scope, nothing run) against the \`undefined symbol: X[, version V] (object)\` lines of \`ldd -r <realpath>\`. Agree: **${y.agree} / ${y.total}**; ldd -r reported ${y.findings} undefined symbols in ${y.withFindings} objects (plugins that take symbols from the program that loads them). compat took ${ms(y.compatMs)} ms in-process, ldd -r ${sec(y.lddMs)} s (${cpus().length} at a time).`, '');
    if (y.disagreements.length) {
      L.push('| object | note | only compat | only ldd -r |', '|---|---|---|---|');
      const cell = (xs) => (xs.length ? xs.slice(0, 5).map((x) => `\`${x}\``).join('<br>') + (xs.length > 5 ? `<br>… ${xs.length - 5} more` : '') : '—');
      for (const d of y.disagreements.slice(0, 50)) L.push(`| \`${d.path}\` | ${d.note} | ${cell(d.onlyCompat)} | ${cell(d.onlyLdd)} |`);
      L.push('');
    } else L.push('No disagreements.', '');
  }
  if (s) {
    L.push(`### c. Host index`, '');
    L.push(`Cold: \`scanHost()\` in one process, ${s.coldRuns} runs, median ${ms(s.coldMedianMs)} ms (first run, with a colder JIT, ${ms(s.coldFirstMs)} ms): ${s.libraries} libraries, ${s.directories} directories, ${s.cacheEntries} ld.so.cache entries. Files come from the page cache; a scan after boot would read them from disk. Warm: \`loadOrScan({indexFile})\` on a saved ${(s.indexBytes / 1024).toFixed(0)} KiB index, ${s.warmRuns} runs, median ${ms(s.warmMedianMs)} ms, p90 ${ms(s.warmP90Ms)} ms (parse plus the freshness check).`, '');
  }
  if (c) {
    const st = c.stats;
    L.push(`### d. \`compat check\` latency`, '');
    L.push(`\`compat check xz.compat.json\` (bin/compat) with XDG_CACHE_HOME in a temp dir after \`host scan\`; ${c.runs} runs after two warm-ups, interleaved with the others. \`--version\` shows what the CLI framework costs before any command code runs. Exit code ${c.exit} (compatible)${c.rescanned ? '; **the index was rewritten during the runs — they were not all warm**' : '; the index was not rewritten (every run loaded it)'}.`, '');
    L.push('| command | median | p90 | min |', '|---|---|---|---|');
    const names = { check: '`compat check` (CLI)', node: '`node -e 0`', cli: '`compat --version` (CLI start-up)', ldd: '`ldd /usr/bin/xz`', spawn: '`/bin/true` (spawn floor)' };
    for (const [k, v] of Object.entries(st)) L.push(`| ${names[k]} | ${ms(v.median)} ms | ${ms(v.p90)} ms | ${ms(v.min)} ms |`);
    L.push('');
  }
  return L.join('\n');
}

export async function main(argv = process.argv.slice(2)) {
  const quick = argv.includes('--quick');
  const onlyIdx = argv.indexOf('--only');
  const only = onlyIdx >= 0 ? argv[onlyIdx + 1].split(',') : SECTIONS;
  const mdIdx = argv.indexOf('--md');
  const mdFile = mdIdx >= 0 ? argv[mdIdx + 1] : undefined;
  for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s} (have ${SECTIONS.join(', ')})`);
  if (!existsSync(join(ROOT, 'dist', 'artifact', 'gen.js'))) throw new Error('dist/ is missing: run `npm run build` (or `npm run bench`, which builds)');
  if (!which('ldd')) throw new Error('ldd is required');

  const t0 = now();
  const r = { date: new Date().toISOString(), quick, machine: machine(), load: loadavg().map((x) => x.toFixed(2)).join(', ') };
  if (only.includes('gen')) r.gen = await benchGen(quick);
  if (only.includes('oracle')) r.oracle = await benchOracle(quick);
  if (only.includes('symbols')) r.symbols = await benchSymbols(quick);
  if (only.includes('scan')) r.scan = await benchScan(quick);
  if (only.includes('check')) r.check = await benchCheck(quick);
  r.totalMs = now() - t0;
  const md = markdown(r);
  process.stdout.write(`${md}\n`);
  if (mdFile) writeFileSync(mdFile, `${md}\n`);
  return { results: r, markdown: md };
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`${e?.stack ?? e}\n`);
    process.exit(1);
  });
}
