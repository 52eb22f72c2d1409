// gen --image against skopeo copy + umoci unpack of the same image (issue 12).
//
//   node bench/image.mjs [--runs N] [--md FILE]
//
// Builds a ~200 MB image (two gzip layers of this machine's /usr/lib/gcc, /usr/libexec, /usr/sbin
// and /etc) in an OCI layout, pushes it with skopeo to a local docker-registry, then times, in
// the same run: `compat gen --image` from the registry (pull, unpack, describe); compat's unpack
// alone (withImageRoot from dist/, nothing described); `skopeo copy` registry → OCI layout; and
// `umoci unpack` of that layout. Needs a built dist/ (bench/run.js builds it when missing).

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const RUN = join(ROOT, 'bin', 'run.js');
const TARGET_RATIO = 1.5; // gen --image at most 1.5x umoci unpack alone

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || (args.includes('--runs') ? 3 : 3);
const mdFile = args.includes('--md') ? args[args.indexOf('--md') + 1] : undefined;
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function timed(cmd, argv, env = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return ms;
}

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRegistry(dir) {
  const port = await freePort();
  const cfg = join(dir, 'registry.yml');
  writeFileSync(cfg, `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const child = spawn('docker-registry', ['serve', cfg], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.ok, () => false);
    if (ok) return { host: `127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error('docker-registry did not start');
}

/** A two-layer gzip image of host directories in an OCI layout (compat's own layout writer). */
async function buildImage(dir) {
  const { OciLayout, pushFile, pushBytes, pushManifest, MediaType } = await import(join(ROOT, 'dist/registry/index.js'));
  const layout = join(dir, 'layout');
  const l = await OciLayout.open(layout);
  const groups = [['usr/lib/gcc', 'usr/libexec'], ['usr/sbin', 'etc']];
  const layers = [];
  const diffIds = [];
  let raw = 0;
  for (const [i, g] of groups.entries()) {
    const tar = join(dir, `layer${i}.tar`);
    execFileSync('tar', ['-cf', tar, '-C', '/', '--ignore-failed-read', '--warning=none', ...g], { stdio: ['ignore', 'ignore', 'ignore'] });
    raw += statSync(tar).size;
    diffIds.push(`sha256:${execFileSync('sha256sum', [tar], { encoding: 'utf8' }).split(' ')[0]}`);
    execFileSync('gzip', ['-1', tar]);
    layers.push(await pushFile(l, `${tar}.gz`, MediaType.OciLayerGzip));
  }
  const config = await pushBytes(l, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds }, config: {} })), MediaType.OciConfig);
  await pushManifest(l, { schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers }, { reference: 'bench' });
  return { layout, raw, compressed: layers.reduce((n, d) => n + d.size, 0) };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'compat-bench-image-'));
  const reg = await startRegistry(dir);
  try {
    const img = await buildImage(dir);
    const ref = `${reg.host}/bench/image:bench`;
    execFileSync('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${img.layout}:bench`, `docker://${ref}`]);
    log(`image: ${(img.raw / 1e6).toFixed(0)} MB of tar, ${(img.compressed / 1e6).toFixed(0)} MB gzip`);
    const env = { XDG_CACHE_HOME: join(dir, 'cache'), XDG_DATA_HOME: join(dir, 'data'), TMPDIR: dir };
    const unpackOnly = join(dir, 'unpack-only.mjs');
    writeFileSync(unpackOnly, `import { RemoteRepository, parseReference, withImageRoot } from ${JSON.stringify(join(ROOT, 'dist/registry/index.js'))};\nconst ref = parseReference(process.argv[2]);\nawait withImageRoot(new RemoteRepository(ref, { plainHttp: true }), ref.tag, {}, async () => {});\n`);
    const t = { gen: [], unpackOnly: [], skopeo: [], umoci: [] };
    for (let i = 0; i < runs; i++) {
      t.gen.push(timed(process.execPath, [RUN, 'gen', '--plain-http', '--image', ref, '-o', join(dir, 'spec.json')], env));
      t.unpackOnly.push(timed(process.execPath, [unpackOnly, ref], env));
      const oci = join(dir, `oci-${i}`);
      t.skopeo.push(timed('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${oci}:bench`]));
      t.umoci.push(timed('umoci', ['unpack', '--image', `${oci}:bench`, join(dir, `bundle-${i}`)]));
      rmSync(oci, { recursive: true, force: true });
      rmSync(join(dir, `bundle-${i}`), { recursive: true, force: true });
      log(`run ${i + 1}: gen --image ${t.gen[i].toFixed(0)} ms, unpack only ${t.unpackOnly[i].toFixed(0)} ms, skopeo copy ${t.skopeo[i].toFixed(0)} ms, umoci unpack ${t.umoci[i].toFixed(0)} ms`);
    }
    const left = readdirSync(dir).filter((n) => n.startsWith('image-root-'));
    const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
    const spec = JSON.parse(execFileSync('cat', [join(dir, 'spec.json')], { encoding: 'utf8' }));
    const ratio = m.gen / m.umoci;
    const md = [
      `### gen --image vs skopeo copy + umoci unpack (${new Date().toISOString().slice(0, 10)})`,
      '',
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end: a noisy shared 2-core VM (other builds and tests run beside it), so runs of one build differ by 10–20 %.`,
      `Image: two gzip layers of this machine's /usr/lib/gcc, /usr/libexec, /usr/sbin, /etc: ${(img.raw / 1e6).toFixed(0)} MB of tar, ${(img.compressed / 1e6).toFixed(0)} MB compressed; ${spec.binaries.length} ELF files described. Local docker-registry on loopback. Median of ${runs} runs, ms:`,
      '',
      '| step | median ms | runs |',
      '| --- | ---: | --- |',
      `| compat gen --image (pull + unpack + describe) | ${m.gen.toFixed(0)} | ${t.gen.map((x) => x.toFixed(0)).join(', ')} |`,
      `| compat unpack alone (withImageRoot, nothing described) | ${m.unpackOnly.toFixed(0)} | ${t.unpackOnly.map((x) => x.toFixed(0)).join(', ')} |`,
      `| skopeo copy registry → OCI layout | ${m.skopeo.toFixed(0)} | ${t.skopeo.map((x) => x.toFixed(0)).join(', ')} |`,
      `| umoci unpack | ${m.umoci.toFixed(0)} | ${t.umoci.map((x) => x.toFixed(0)).join(', ')} |`,
      `| skopeo copy + umoci unpack | ${(m.skopeo + m.umoci).toFixed(0)} | |`,
      '',
      `Target (gen --image ≤ ${TARGET_RATIO}× umoci unpack alone): ${ratio <= TARGET_RATIO ? 'met' : '**missed**'} (${ratio.toFixed(2)}×; ${(m.gen / (m.skopeo + m.umoci)).toFixed(2)}× skopeo copy + umoci unpack). Temporary roots left behind: ${left.length}.`,
      '',
    ].join('\n');
    process.stdout.write(`${md}\n`);
    if (mdFile) writeFileSync(mdFile, md);
  } finally {
    reg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
