// compat serve under load: many concurrent gRPC clients on loopback, a fixed count of checks.
//
//   node bench/service.mjs [--quick] [--count N] [--in-flight 4,32] [--warmup N] [--rate R]
//                          [--grpc-js-count N] [--unique N] [--channels N] [--workers N]
//                          [--max-seconds S] [--quiet-server] [--md FILE] [--json FILE]
//
// Starts `node bin/run.js serve --address 127.0.0.1:0` (needs a built dist/: npm run build), with
// its per-check log lines going to a file, as a daemon's would go to the journal. Then:
//   warm-up  20,000 checks (5,000 with --quick) to get the JIT and the heap to their working size;
//   cached   N checks (100,000; 10,000 with --quick) cycling over three specs (compatible,
//            incompatible, legacy): what a scheduler asking about the same few artifacts sees;
//            once for each --in-flight level (concurrent clients in a closed loop: 4, then 32),
//            and, with --rate R, once more paced at R checks/s (an open loop);
//   grpc-js  the same with the project's own client (20,000; 5,000 with --quick), which costs
//            the client side about three times what the lean generator does;
//   unique   M checks (10,000; 2,000 with --quick) of specs that differ each time, so every one
//            is a full check and the verdict LRU keeps evicting;
//   again    the cached load once more, to see whether memory settles.
// Reports throughput, client-side latency p50/p99/max, the server's CPU time per check, and its
// RSS: at start, after warm-up, during (peak), and after each phase. Targets (issue 4, on a 2-core
// machine): >= 5,000 checks/s, p99 < 5 ms, memory flat after 100,000 checks.
//
// Every loop is bounded by a count and by --max-seconds; the server listens on loopback only and
// is stopped (SIGTERM) at the end.

import { spawn, spawnSync } from 'node:child_process';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const RUN = join(ROOT, 'bin', 'run.js');
const TARGETS = { checksPerSecond: 5000, p99Ms: 5 };

const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

// ---------------------------------------------------------------------------------------------
// worker: one load generator with its own channels, `count` calls at most `concurrency` at a time

async function workerMain() {
  const { address, payloads, count, concurrency, channels, deadline, client, rate } = workerData;
  const call = client === 'grpc-js' ? await grpcJsCaller(address, channels) : await h2Caller(address, channels);
  const lat = new Float64Array(count);
  let issued = 0;
  let done = 0;
  let errors = 0;
  let wrong = 0;
  const firstError = [];
  const one = async (i, since) => {
    const p = payloads[i % payloads.length];
    try {
      const r = await call.check(i, p.text);
      lat[done++] = performance.now() - since;
      if (r.status !== 'SUCCESS' || r.compatible !== p.compatible) wrong++;
    } catch (e) {
      errors++;
      if (firstError.length === 0) firstError.push(String(e.message ?? e));
    }
  };
  const t0 = performance.now();
  if (rate > 0) {
    // Open loop: call i is due at t0 + i/rate, and its latency counts from then (so a stall that
    // delays sending is charged to the server, not hidden: no coordinated omission).
    const pending = new Set();
    await new Promise((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (issued < count && t0 + (issued * 1000) / rate <= now && pending.size < concurrency) {
          const due = t0 + (issued * 1000) / rate;
          const p = one(issued++, due).finally(() => pending.delete(p));
          pending.add(p);
        }
        if ((issued >= count || Date.now() >= deadline) && pending.size === 0) return resolve();
        if (issued >= count || Date.now() >= deadline) return void Promise.all(pending).then(resolve);
        setTimeout(tick, 1);
      };
      tick();
    });
  } else {
    // Closed loop: `concurrency` lanes, each sending its next call when the last one is answered.
    const lane = async () => {
      while (issued < count && Date.now() < deadline) {
        const i = issued++;
        await one(i, performance.now());
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
  }
  const ms = performance.now() - t0;
  call.close();
  const out = lat.slice(0, done);
  parentPort.postMessage({ done, errors, wrong, ms, lat: out, firstError: firstError[0] }, [out.buffer]);
}

/** The project's own client (grpc-js): what `compat check --server` and other Node callers use. */
async function grpcJsCaller(address, channels) {
  const { CompatClient } = await import(pathToFileURL(join(ROOT, 'dist/service/client.js')).href);
  const clients = Array.from({ length: channels }, () => new CompatClient(address, { timeoutMs: 10000 }));
  return { check: (i, text) => clients[i % channels].check({ payload: text }), close: () => clients.forEach((c) => c.close()) };
}

/**
 * A lean load generator: gRPC unary calls over Node's own HTTP/2 client, the request and response
 * encoded by the checked-in contract (protobufjs through proto-loader), as ghz or h2load would
 * send them. It costs the client about a third of what grpc-js does per call, which on a 2-core
 * machine leaves the other core to the server under test.
 */
async function h2Caller(address, channels) {
  const http2 = await import('node:http2');
  const { compatService } = await import(pathToFileURL(join(ROOT, 'dist/service/proto.js')).href);
  const m = compatService().CheckCompatibility;
  const frames = new Map();
  const frameOf = (text) => {
    let f = frames.get(text);
    if (!f) {
      const msg = m.requestSerialize({ payload: text });
      f = Buffer.alloc(5 + msg.length);
      f.writeUInt32BE(msg.length, 1);
      msg.copy(f, 5);
      frames.set(text, f);
    }
    return f;
  };
  const sessions = await Promise.all(
    Array.from({ length: channels }, () => new Promise((resolve, reject) => {
      const s = http2.connect(`http://${address}`);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    })),
  );
  const headers = { ':method': 'POST', ':path': m.path, 'content-type': 'application/grpc', te: 'trailers' };
  const check = (i, text) =>
    new Promise((resolve, reject) => {
      const st = sessions[i % channels].request(headers);
      st.setTimeout(10000, () => st.close(http2.constants.NGHTTP2_CANCEL));
      const chunks = [];
      let status;
      let message = '';
      st.on('data', (d) => chunks.push(d));
      st.on('trailers', (t) => {
        status = t['grpc-status'];
        message = t['grpc-message'] ?? '';
      });
      st.on('end', () => {
        if (status !== '0') return reject(new Error(`grpc-status ${status ?? '(none)'} ${decodeURIComponent(message)}`));
        const b = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        resolve(m.responseDeserialize(b.subarray(5, 5 + b.readUInt32BE(1))));
      });
      st.on('error', reject);
      st.end(frameOf(text));
    });
  return { check, close: () => sessions.forEach((s) => s.close()) };
}

// ---------------------------------------------------------------------------------------------
// main

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}
const flag = (name) => process.argv.includes(`--${name}`);
const num = (name, dflt) => {
  const n = Number(arg(name, dflt));
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number`);
  return n;
};

function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** utime + stime of a process, in ms. */
function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    const tick = 100; // USER_HZ: 100 on Linux
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / tick;
  } catch {
    return NaN;
  }
}

const mib = (kib) => (kib / 1024).toFixed(1);

/** The daemon's heap after a full GC, in KiB (through the preloaded probe), or NaN. */
async function heapAfterGcKiB(server) {
  const before = existsSync(server.probeFile) ? readFileSync(server.probeFile, 'utf8').split('\n').filter(Boolean).length : 0;
  server.proc.kill('SIGUSR2');
  const t0 = Date.now();
  while (Date.now() - t0 < 5000) {
    await new Promise((r) => setTimeout(r, 20));
    const lines = existsSync(server.probeFile) ? readFileSync(server.probeFile, 'utf8').split('\n').filter(Boolean) : [];
    if (lines.length > before) return JSON.parse(lines.at(-1)).heapUsed / 1024;
  }
  return NaN;
}

function specs(env) {
  const r = spawnSync(process.execPath, [RUN, 'gen', '/usr/bin/xz'], { encoding: 'utf8', env, timeout: 60000 });
  if (r.status !== 0) throw new Error(`compat gen /usr/bin/xz failed: ${r.stderr}`);
  const spec = JSON.parse(r.stdout);
  const bad = structuredClone(spec);
  bad.binaries[0].needed.push({ soname: 'libcompat-bench-missing.so.1', versions: [] });
  const legacy = { version: '0.0.1', attributes: { 'llnl.compatlib.executable-name': 'xz', 'llnl.compatlib.library-name.0': 'liblzma.so.5', 'llnl.compatlib.library-name.1': 'libc.so.6' } };
  return { spec, bad, legacy };
}

async function startServer(env, logFile, quiet) {
  const fd = openSync(logFile, 'w');
  // The probe answers SIGUSR2 with the heap after a full GC (see bench/service-probe.mjs).
  const probe = ['--expose-gc', '--import', pathToFileURL(join(HERE, 'service-probe.mjs')).href];
  const proc = spawn(process.execPath, [...probe, RUN, 'serve', '--address', '127.0.0.1:0', ...(quiet ? ['--quiet'] : [])], { cwd: ROOT, env, stdio: ['ignore', 'pipe', fd] });
  closeSync(fd);
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  const t0 = Date.now();
  while (!/listening on (\S+)/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`server exited ${proc.exitCode}: ${readFileSync(logFile, 'utf8')}`);
    if (Date.now() - t0 > 30000) {
      proc.kill('SIGKILL');
      throw new Error('server not ready within 30 s');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { proc, address: /listening on (\S+)/.exec(out)[1], readyMs: Date.now() - t0 };
}

function runWorkers({ address, payloads, count, concurrency, channels, workers, deadline, client, rate = 0 }) {
  const per = Math.ceil(count / workers);
  const jobs = [];
  for (let w = 0; w < workers; w++) {
    const n = Math.min(per, count - w * per);
    if (n <= 0) break;
    jobs.push(
      new Promise((resolve, reject) => {
        const wk = new Worker(fileURLToPath(import.meta.url), {
          workerData: { address, payloads, count: n, concurrency: Math.max(1, Math.round(concurrency / workers)), channels: Math.max(1, Math.round(channels / workers)), deadline, client, rate: rate / workers },
        });
        wk.once('message', resolve);
        wk.once('error', reject);
        wk.once('exit', (code) => code !== 0 && reject(new Error(`load worker exited ${code}`)));
      }),
    );
  }
  return Promise.all(jobs);
}

async function phase(name, server, opts) {
  const rss0 = rssKiB(server.proc.pid);
  const cpu0 = cpuMs(server.proc.pid);
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(server.proc.pid))), 250);
  const t0 = performance.now();
  const results = await runWorkers({ ...opts, address: server.address });
  const wall = performance.now() - t0;
  clearInterval(sampler);
  const rss1 = rssKiB(server.proc.pid);
  peak = Math.max(peak, rss1);
  const cpu = cpuMs(server.proc.pid) - cpu0;
  const heapKiB = await heapAfterGcKiB(server);
  const done = results.reduce((a, r) => a + r.done, 0);
  const errors = results.reduce((a, r) => a + r.errors, 0);
  const wrong = results.reduce((a, r) => a + r.wrong, 0);
  const lat = new Float64Array(done);
  let o = 0;
  for (const r of results) {
    lat.set(r.lat, o);
    o += r.lat.length;
  }
  lat.sort();
  const res = {
    name,
    asked: opts.count,
    done,
    errors,
    wrong,
    firstError: results.find((r) => r.firstError)?.firstError,
    seconds: wall / 1000,
    perSecond: done / (wall / 1000),
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
    max: lat[lat.length - 1],
    serverCpuUsPerCheck: (cpu * 1000) / Math.max(1, done),
    rssBeforeKiB: rss0,
    rssAfterKiB: rss1,
    rssPeakKiB: peak,
    heapAfterGcKiB: heapKiB,
  };
  log(
    `${name}: ${done}/${opts.count} checks in ${res.seconds.toFixed(2)} s = ${res.perSecond.toFixed(0)}/s; p50 ${res.p50.toFixed(2)} ms, p99 ${res.p99.toFixed(2)} ms, max ${res.max.toFixed(1)} ms; ` +
      `server CPU ${res.serverCpuUsPerCheck.toFixed(0)} µs/check; RSS ${mib(rss0)} -> ${mib(rss1)} MiB (peak ${mib(peak)}), heap after GC ${mib(heapKiB)} MiB; errors ${errors}, wrong verdicts ${wrong}`,
  );
  if (res.firstError) log(`  first error: ${res.firstError}`);
  return res;
}

async function main() {
  if (flag('help')) {
    process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n\n')[0].replace(/^\/\/ ?/gm, '') + '\n');
    return;
  }
  for (const f of ['dist/commands/serve.js', 'dist/service/client.js']) {
    if (!existsSync(join(ROOT, f))) {
      log(`${f} is missing: npm run build`);
      process.exit(1);
    }
  }
  const quick = flag('quick');
  const count = num('count', quick ? 10000 : 100000);
  const unique = num('unique', quick ? 2000 : 10000);
  const grpcJsCount = num('grpc-js-count', quick ? 5000 : 20000);
  const inFlight = String(arg('in-flight', '4,32'))
    .split(',')
    .map((x) => Number(x))
    .filter((x) => Number.isInteger(x) && x > 0);
  if (inFlight.length === 0) throw new Error('--in-flight: expected a list of whole numbers, e.g. 4,32');
  const channels = num('channels', 2);
  const workers = num('workers', 1);
  const rate = num('rate', 0);
  const warmup = num('warmup', quick ? 5000 : 20000);
  const maxSeconds = num('max-seconds', quick ? 90 : 400);
  const deadline = Date.now() + maxSeconds * 1000;

  const load0 = loadavg()[0];
  const tmp = mkdtempSync(join(tmpdir(), 'compat-bench-serve-'));
  const env = { ...process.env, XDG_CACHE_HOME: join(tmp, 'cache') };
  delete env.NODE_OPTIONS;
  delete env.LD_LIBRARY_PATH;
  delete env.LD_PRELOAD;
  const { spec, bad, legacy } = specs(env);
  const logFile = join(tmp, 'serve.log');
  env.COMPAT_BENCH_PROBE = join(tmp, 'probe.jsonl');
  const server = await startServer(env, logFile, flag('quiet-server'));
  server.probeFile = env.COMPAT_BENCH_PROBE;
  const rssStart = rssKiB(server.proc.pid);
  const heapStart = await heapAfterGcKiB(server);
  log(`server ${server.address} (pid ${server.proc.pid}) ready in ${server.readyMs} ms, RSS ${mib(rssStart)} MiB; ${workers} load worker(s), ${channels} HTTP/2 connection(s)`);

  const mixed = [
    { text: JSON.stringify(spec), compatible: true },
    { text: JSON.stringify(bad), compatible: false },
    { text: JSON.stringify(legacy), compatible: true },
  ];
  const phases = [];
  try {
    const common = { concurrency: 16, channels, workers, deadline, client: 'h2' };
    await phase('warm-up, 16 in flight', server, { ...common, payloads: mixed, count: warmup });
    const rssWarm = rssKiB(server.proc.pid);
    const heapWarm = await heapAfterGcKiB(server);
    const cached = [];
    for (const n of inFlight) cached.push(await phase(`cached, ${n} in flight`, server, { ...common, concurrency: n, payloads: mixed, count }));
    phases.push(...cached);
    if (rate > 0) phases.push(await phase(`cached, paced at ${rate}/s`, server, { ...common, concurrency: 512, payloads: mixed, count, rate }));
    if (grpcJsCount > 0) phases.push(await phase('cached, grpc-js client, 16 in flight', server, { ...common, client: 'grpc-js', payloads: mixed, count: grpcJsCount }));
    if (unique > 0) {
      const distinct = Array.from({ length: unique }, (_, i) => (i % 2 ? { text: JSON.stringify({ ...spec, name: `xz-${i}` }), compatible: true } : { text: JSON.stringify({ ...bad, name: `xz-bad-${i}` }), compatible: false }));
      phases.push(await phase('unique specs (no cache hits), 16 in flight', server, { ...common, payloads: distinct, count: unique }));
      // And the cached load again: does memory come back to where it was?
      phases.push(await phase('cached again, 16 in flight', server, { ...common, payloads: mixed, count: Math.min(count, 20000) }));
    }
    const rssEnd = rssKiB(server.proc.pid);
    const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes(' info check ')).length;

    server.proc.kill('SIGTERM');
    const t0 = Date.now();
    const code = await new Promise((resolve) => {
      const t = setTimeout(() => (server.proc.kill('SIGKILL'), resolve('killed after 10 s')), 10000);
      server.proc.once('exit', (c) => (clearTimeout(t), resolve(c)));
    });
    const stopMs = Date.now() - t0;

    const first = cached[0];
    const last = cached.at(-1);
    const growth = (last.heapAfterGcKiB - first.heapAfterGcKiB) / 1024;
    const rssGrowth = (last.rssAfterKiB - first.rssAfterKiB) / 1024;
    const met = (ok) => (ok ? 'met' : '**missed**');
    const md = [
      `### compat serve under load (${quick ? 'quick' : 'full'} run, ${new Date().toISOString().slice(0, 10)})`,
      '',
      `Machine: ${cpus().length} × ${cpus()[0]?.model?.trim() ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}, Node ${process.version}; load average ${load0.toFixed(2)} before the run, ${loadavg()[0].toFixed(2)} after.`,
      `Server: \`compat serve --address 127.0.0.1:0\`${flag('quiet-server') ? ' --quiet' : ''}, logging one line per check to a file (${lines} lines). Load: one process on the same machine, ${workers} worker thread(s), ${channels} HTTP/2 connection(s); "N in flight" = N concurrent clients in a closed loop, each sending its next call when the last is answered${rate > 0 ? '; "paced" = an open loop at a fixed rate, latency counted from when each call was due' : ''}. The lean HTTP/2 load generator unless the phase says grpc-js (the project's client, about 3× the client-side CPU per call). Latency is measured by the client, from send to answer.`,
      '',
      '| phase | checks | checks/s | p50 ms | p99 ms | max ms | server CPU µs/check | server RSS before → after (peak) MiB | heap after GC MiB | errors |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
      ...phases.map(
        (p) =>
          `| ${p.name} | ${p.done} | ${p.perSecond.toFixed(0)} | ${p.p50.toFixed(2)} | ${p.p99.toFixed(2)} | ${p.max.toFixed(1)} | ${p.serverCpuUsPerCheck.toFixed(0)} | ${mib(p.rssBeforeKiB)} → ${mib(p.rssAfterKiB)} (${mib(p.rssPeakKiB)}) | ${mib(p.heapAfterGcKiB)} | ${p.errors + p.wrong} |`,
      ),
      '',
      `Server memory: RSS ${mib(rssStart)} MiB when ready, ${mib(rssWarm)} MiB after warm-up, ${mib(first.rssAfterKiB)} MiB after the first ${first.done} cached checks, ${mib(last.rssAfterKiB)} MiB after ${cached.reduce((a, p) => a + p.done, 0)}, ${mib(rssEnd)} MiB at the end; live heap after a full GC ${mib(heapStart)} MiB when ready, ${mib(heapWarm)} after warm-up, ${mib(first.heapAfterGcKiB)} and ${mib(last.heapAfterGcKiB)} after the cached phases. RSS moves by tens of MiB with the moment V8 collects; the heap after GC is what the daemon retains. SIGTERM → exit ${code} in ${stopMs} ms.`,
      '',
      'Targets (≥ 5,000 checks/s with p99 < 5 ms; memory flat after 100,000 checks):',
      ...cached.map((p) => `- ${p.name}: throughput ${met(p.perSecond >= TARGETS.checksPerSecond)} (${p.perSecond.toFixed(0)}/s), p99 ${met(p.p99 < TARGETS.p99Ms)} (${p.p99.toFixed(2)} ms).`),
      ...(cached.length > 1
        ? [`- memory flat: ${met(growth < 1)}: live heap after GC ${growth >= 0 ? '+' : ''}${growth.toFixed(2)} MiB between ${first.done} and ${cached.reduce((a, p) => a + p.done, 0)} cached checks (RSS ${rssGrowth >= 0 ? '+' : ''}${rssGrowth.toFixed(1)} MiB).`]
        : []),
      '',
    ].join('\n');
    process.stdout.write(`${md}\n`);
    const mdFile = arg('md', '');
    if (mdFile) writeFileSync(mdFile, md);
    const jsonFile = arg('json', '');
    if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ phases, rssStart, rssWarm, rssEnd, stopMs, exit: code }, null, 2));
    if (phases.some((p) => p.errors || p.wrong)) process.exitCode = 1;
  } finally {
    if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (isMainThread) await main();
else await workerMain();
