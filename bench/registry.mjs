#!/usr/bin/env node
// Registry benchmark: push and pull of one large random blob, this library vs `skopeo copy`,
// against a local CNCF distribution, and the same file through the CLI as a user runs it
// (`compat push`, `compat pull -o`); then listing a repository with 1,000 tags.
// Usage: npm run build && node bench/registry.mjs [--quick]   (BENCH_SIZE_MB=1024 by default,
// 256 with --quick). Each transfer runs in its own process under /usr/bin/time so peak RSS is
// measured per tool.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const LIB = join(ROOT, 'dist', 'registry', 'index.js');
const CLI = join(ROOT, 'bin', 'run.js');
if (!existsSync(LIB)) {
  console.error('dist/registry/index.js missing: run `npm run build` first');
  process.exit(2);
}
const QUICK = process.argv.includes('--quick');
const SIZE_MB = Number(process.env.BENCH_SIZE_MB ?? (QUICK ? 256 : 1024));
const TAGS = Number(process.env.BENCH_TAGS ?? (QUICK ? 200 : 1000));
const RSS_TARGET_MB = 250;

const work = mkdtempSync(join(tmpdir(), 'registry-bench-'));
const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});
const host = `127.0.0.1:${port}`;
writeFileSync(join(work, 'config.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'storage')}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n`);
const registry = spawn('docker-registry', ['serve', join(work, 'config.yml')], { stdio: 'ignore' });
for (let i = 0; i < 200; i++) {
  const ok = await new Promise((res) => connect(port, '127.0.0.1').once('connect', function () { this.destroy(); res(true); }).once('error', () => res(false)));
  if (ok) break;
  await new Promise((r) => setTimeout(r, 25));
}

/** Runs a command under /usr/bin/time: wall seconds and peak RSS in MB. */
function measureRss(cmd, args, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', 'RSS_KB=%M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, ...env } });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const m = /RSS_KB=(\d+)/.exec(r.stderr);
  return { seconds, rssMB: m ? Number(m[1]) / 1024 : NaN };
}

const lib = await import(LIB);
try {
  // One OCI layout holding one SIZE_MB random layer, written by the library.
  const layoutDir = join(work, 'layout');
  const blobFile = join(work, 'blob.bin');
  await new Promise((resolve, reject) => {
    const ws = createWriteStream(blobFile);
    let left = SIZE_MB;
    const next = () => {
      while (left > 0) {
        left--;
        if (!ws.write(randomBytes(1 << 20))) return ws.once('drain', next);
      }
      ws.end(resolve);
    };
    ws.on('error', reject);
    next();
  });
  const layout = await lib.OciLayout.open(layoutDir);
  const layer = await lib.pushFile(layout, blobFile, 'application/octet-stream');
  await lib.pushBytes(layout, lib.EMPTY_JSON, lib.MediaType.OciEmpty);
  const m = lib.buildManifest({ artifactType: 'application/vnd.bench.blob', layers: [layer] });
  await lib.pushManifest(layout, m.bytes, { reference: 'big' });

  const worker = join(HERE, 'registry-worker.mjs');
  const results = {};
  results.pushLib = measureRss(process.execPath, [worker, 'push', layoutDir, `${host}/bench/lib:big`]);
  results.pushSkopeo = measureRss('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layoutDir}:big`, `docker://${host}/bench/skopeo:big`]);
  results.pullLib = measureRss(process.execPath, [worker, 'pull', `${host}/bench/lib:big`, join(work, 'pulled-lib')]);
  results.pullSkopeo = measureRss('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${host}/bench/skopeo:big`, `oci:${join(work, 'pulled-skopeo')}:big`]);

  // The CLI as a user runs it: the file pushed ORAS-style, then pulled into a fresh node store
  // and written out with -o (two copies on disk, as the user asked for).
  const cliEnv = { XDG_DATA_HOME: join(work, 'cli-data'), XDG_CACHE_HOME: join(work, 'cli-cache'), XDG_CONFIG_HOME: join(work, 'cli-config'), DOCKER_CONFIG: join(work, 'cli-docker') };
  results.pushCli = measureRss(process.execPath, [CLI, 'push', '--plain-http', `${host}/bench/cli:big`, blobFile], cliEnv);
  rmSync(blobFile);
  results.pullCli = measureRss(process.execPath, [CLI, 'pull', '--plain-http', `${host}/bench/cli:big`, '-o', join(work, 'pulled-cli')], cliEnv);
  rmSync(join(work, 'pulled-cli'), { recursive: true, force: true });

  // 1,000 tags on one small manifest, then one listing.
  const repo = new lib.RemoteRepository(`${host}/bench/tags`, { plainHttp: true });
  const small = await lib.pushBytes(repo, Buffer.from('x'), 'text/plain');
  await lib.pushBytes(repo, lib.EMPTY_JSON, lib.MediaType.OciEmpty);
  const sm = lib.buildManifest({ artifactType: 'application/vnd.bench', layers: [small] });
  for (let i = 0; i < TAGS; i += 32) {
    await Promise.all(Array.from({ length: Math.min(32, TAGS - i) }, (_, k) => repo.pushReference(sm.descriptor, sm.bytes, `t${i + k}`)));
  }
  const t0 = process.hrtime.bigint();
  const tags = await new lib.RemoteRepository(`${host}/bench/tags`, { plainHttp: true }).tags();
  results.list = { seconds: Number(process.hrtime.bigint() - t0) / 1e9, tags: tags.length };

  const mbps = (r) => SIZE_MB / r.seconds;
  const report = {
    date: new Date().toISOString(),
    sizeMB: SIZE_MB,
    node: process.version,
    push: { lib: { MBps: mbps(results.pushLib), rssMB: results.pushLib.rssMB }, skopeo: { MBps: mbps(results.pushSkopeo), rssMB: results.pushSkopeo.rssMB }, ratio: mbps(results.pushLib) / mbps(results.pushSkopeo) },
    pull: { lib: { MBps: mbps(results.pullLib), rssMB: results.pullLib.rssMB }, skopeo: { MBps: mbps(results.pullSkopeo), rssMB: results.pullSkopeo.rssMB }, ratio: mbps(results.pullLib) / mbps(results.pullSkopeo) },
    cli: {
      rssTargetMB: RSS_TARGET_MB,
      push: { MBps: mbps(results.pushCli), rssMB: results.pushCli.rssMB, ratio: mbps(results.pushCli) / mbps(results.pushSkopeo), rssRatio: results.pushCli.rssMB / results.pushSkopeo.rssMB },
      pull: { MBps: mbps(results.pullCli), rssMB: results.pullCli.rssMB, ratio: mbps(results.pullCli) / mbps(results.pullSkopeo), rssRatio: results.pullCli.rssMB / results.pullSkopeo.rssMB },
    },
    list: results.list,
  };
  mkdirSync(join(HERE, 'out'), { recursive: true });
  writeFileSync(join(HERE, 'out', `registry-${report.date.replace(/[:.]/g, '-')}.json`), JSON.stringify(report, null, 2));
  const f = (x) => x.toFixed(1);
  console.log(`size ${SIZE_MB} MB`);
  console.log(`push  lib ${f(report.push.lib.MBps)} MB/s (RSS ${f(report.push.lib.rssMB)} MB)  skopeo ${f(report.push.skopeo.MBps)} MB/s (RSS ${f(report.push.skopeo.rssMB)} MB)  ratio ${report.push.ratio.toFixed(2)}`);
  console.log(`pull  lib ${f(report.pull.lib.MBps)} MB/s (RSS ${f(report.pull.lib.rssMB)} MB)  skopeo ${f(report.pull.skopeo.MBps)} MB/s (RSS ${f(report.pull.skopeo.rssMB)} MB)  ratio ${report.pull.ratio.toFixed(2)}`);
  const cli = (name, c, sk) => `${name}  compat CLI ${f(c.MBps)} MB/s (peak RSS ${f(c.rssMB)} MB, ${c.rssMB < RSS_TARGET_MB ? 'under' : 'OVER'} the ${RSS_TARGET_MB} MB target)  skopeo ${f(sk.MBps)} MB/s (RSS ${f(sk.rssMB)} MB)  ratio ${c.ratio.toFixed(2)}`;
  console.log(cli('push', report.cli.push, report.push.skopeo));
  console.log(cli('pull', report.cli.pull, report.pull.skopeo));
  console.log(`list  ${report.list.tags} tags in ${(report.list.seconds * 1000).toFixed(0)} ms`);
} finally {
  registry.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
