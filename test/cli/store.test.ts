import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildManifest, EMPTY_DESCRIPTOR, EMPTY_JSON, MediaType, pushBytes, pushManifest, RemoteRepository } from '../../src/registry/index.js';
import { isolatedEnv, tempDir, type RunResult } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'run.js');
const REF_NAME = 'org.opencontainers.image.ref.name';

let reg: TestRegistry;
let dir: string;
let env: Record<string, string>;
let spec: string;

/** The built CLI with a deadline: a regression that blocks fails the test instead of hanging it. */
function cli(args: string[], extra: Record<string, string> = {}, deadlineMs = 30_000): Promise<RunResult & { timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, timedOut });
    });
  });
}

/** Runs `jobs` with at most `n` at a time. */
async function parallel<T>(n: number, jobs: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}

function tagsOf(layout: string): string[] {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ annotations?: Record<string, string> }> };
  return index.manifests.map((d) => d.annotations?.[REF_NAME]).filter((t): t is string => !!t).sort();
}

function skopeoReads(layout: string, tag: string): boolean {
  try {
    execFileSync('skopeo', ['inspect', '--raw', `oci:${layout}:${tag}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function sha256(path: string): string {
  return `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
}

/** A pid that belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

function storeLayout(store: string, repo: string): string {
  return join(store, reg.host.replace(':', '_'), repo);
}

/** Pushes the spec once to `repo` and tags it `tags` times, straight through the library. */
async function seedRegistry(repo: string, tags: string[]): Promise<void> {
  const target = new RemoteRepository(`${reg.host}/${repo}`, { plainHttp: true });
  const bytes = readFileSync(spec);
  const layer = await pushBytes(target, bytes, 'application/vnd.compspec.compat.spec.v1+json');
  await pushBytes(target, EMPTY_JSON, EMPTY_DESCRIPTOR.mediaType);
  const { bytes: manifest } = buildManifest({ artifactType: 'application/vnd.compspec.compat.v1', layers: [layer] });
  for (const t of tags) await pushManifest(target, manifest, { reference: t, mediaType: MediaType.OciManifest });
}

beforeAll(async () => {
  reg = await startRegistry();
  dir = tempDir('compat-store-test-');
  env = isolatedEnv(dir);
  spec = join(dir, 'xz.json');
  expect((await cli(['gen', '/usr/bin/xz', '-o', spec])).status).toBe(0);
  // One index for every check below, so parallel checks do not each scan the node.
  expect((await cli(['host', 'scan'])).status).toBe(0);
});

afterAll(async () => {
  await reg?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `n` node processes, started together, each tagging one manifest `m` times in a layout through the built library. */
function tagFromProcesses(layout: string, desc: object, n: number, m: number): Promise<RunResult[]> {
  const lib = join(import.meta.dirname, '..', '..', 'dist', 'registry', 'layout.js');
  const script = `
    const { OciLayout } = await import(process.argv[1]);
    const layout = await OciLayout.open(process.argv[2]);
    const desc = JSON.parse(process.argv[3]);
    for (let k = 0; k < ${m}; k++) await layout.tag(desc, process.argv[4] + '-' + k);`;
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      new Promise<RunResult>((resolve) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, lib, layout, JSON.stringify(desc), `w${i}`], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (status) => resolve({ status, stdout: '', stderr }));
      }),
    ),
  );
}

describe('the store keeps every tag when processes update it at once', () => {
  it('8 processes × 12 tags through the layout library: all 96 kept, skopeo reads every one', async () => {
    const layout = join(dir, 'par-lib');
    expect((await cli(['push', '--oci-layout', `${layout}:seed`, spec])).status).toBe(0);
    const seed = (JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ mediaType: string; digest: string; size: number }> }).manifests[0]!;
    const results = await tagFromProcesses(layout, { mediaType: seed.mediaType, digest: seed.digest, size: seed.size }, 8, 12);
    expect(results.filter((r) => r.status !== 0).map((r) => r.stderr)).toEqual([]);
    const want = ['seed', ...Array.from({ length: 96 }, (_, k) => `w${k % 8}-${Math.floor(k / 8)}`)].sort();
    expect(tagsOf(layout)).toEqual(want);
    for (const t of want) expect(skopeoReads(layout, t)).toBe(true);
  });

  it('8 parallel `push --oci-layout` × 4 tags: all 32 kept, skopeo reads every one', async () => {
    const layout = join(dir, 'par-push');
    const jobs = Array.from({ length: 32 }, (_, k) => () => cli(['push', '--oci-layout', `${layout}:t${k}`, spec]));
    const results = await parallel(8, jobs);
    expect(results.filter((r) => r.status !== 0).map((r) => r.stderr)).toEqual([]);
    const want = Array.from({ length: 32 }, (_, k) => `t${k}`).sort();
    expect(tagsOf(layout)).toEqual(want);
    for (const t of want) expect(skopeoReads(layout, t)).toBe(true);
    expect(existsSync(join(layout, 'index.json.lock'))).toBe(false);
    expect(readdirSync(layout).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('8 parallel pulls × 3 tags into the store: all 24 kept, skopeo reads every one', async () => {
    const store = join(dir, 'store-pull');
    const tags = Array.from({ length: 24 }, (_, k) => `p${k}`);
    await seedRegistry('par/pull', tags);
    const results = await parallel(8, tags.map((t) => () => cli(['pull', '--plain-http', `${reg.host}/par/pull:${t}`], { COMPAT_STORE: store })));
    expect(results.filter((r) => r.status !== 0).map((r) => r.stderr)).toEqual([]);
    const layout = storeLayout(store, 'par/pull');
    expect(tagsOf(layout)).toEqual([...tags].sort());
    for (const t of tags) expect(skopeoReads(layout, t)).toBe(true);
  });

  it('8 parallel `check REF` × 2 tags: all 16 kept, skopeo reads every one', async () => {
    const store = join(dir, 'store-check');
    const tags = Array.from({ length: 16 }, (_, k) => `c${k}`);
    await seedRegistry('par/check', tags);
    const results = await parallel(8, tags.map((t) => () => cli(['check', '--plain-http', `${reg.host}/par/check:${t}`], { COMPAT_STORE: store })));
    expect(results.filter((r) => r.status !== 0).map((r) => r.stderr)).toEqual([]);
    const layout = storeLayout(store, 'par/check');
    expect(tagsOf(layout)).toEqual([...tags].sort());
    for (const t of tags) expect(skopeoReads(layout, t)).toBe(true);
  });

  it('a lock left by a killed process is taken over once stale, and skopeo reads beside a lock', async () => {
    const layout = join(dir, 'stale-lock');
    expect((await cli(['push', '--oci-layout', `${layout}:a`, spec])).status).toBe(0);
    const lock = join(layout, 'index.json.lock');
    mkdirSync(lock);
    expect(skopeoReads(layout, 'a')).toBe(true);
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(lock, old, old);
    const r = await cli(['push', '--oci-layout', `${layout}:b`, spec], {}, 20_000);
    expect(r.timedOut).toBe(false);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(tagsOf(layout)).toEqual(['a', 'b']);
    expect(existsSync(lock)).toBe(false);
  });
});

describe('a corrupted blob in the store', () => {
  const repo = 'apps/corrupt';
  let store: string;
  let layout: string;
  let specBlob: string;
  let manifestBlob: string;
  const ref = () => `${reg.host}/${repo}:v1`;

  beforeAll(async () => {
    store = join(dir, 'store-corrupt');
    await seedRegistry(repo, ['v1']);
    const r = await cli(['check', '--plain-http', ref()], { COMPAT_STORE: store });
    expect(r.status).toBe(0);
    layout = storeLayout(store, repo);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const mdigest = index.manifests[0]!.digest;
    manifestBlob = join(layout, 'blobs/sha256', mdigest.slice(7));
    const manifest = JSON.parse(readFileSync(manifestBlob, 'utf8')) as { layers: Array<{ digest: string }> };
    specBlob = join(layout, 'blobs/sha256', manifest.layers[0]!.digest.slice(7));
  });

  /** Same size, other bytes. */
  function flipByte(path: string): void {
    const b = readFileSync(path);
    b[b.length >> 1] ^= 0x20;
    writeFileSync(path, b);
  }

  it.each([
    ['the spec layer, same size', () => flipByte(specBlob), () => specBlob],
    ['the spec layer, truncated', () => truncateSync(specBlob, 100), () => specBlob],
    ['the manifest, same size', () => flipByte(manifestBlob), () => manifestBlob],
  ])('%s: `check REF` with the registry up fetches it again and checks', async (_what, corrupt, path) => {
    const good = sha256(path());
    corrupt();
    expect(sha256(path())).not.toBe(good);
    const r = await cli(['check', '--plain-http', ref()], { COMPAT_STORE: store });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(sha256(path())).toBe(good);
  });

  it('with the registry down, `check REF` fails with exit 2 and one line naming the blob', async () => {
    const digest = sha256(specBlob);
    flipByte(specBlob);
    await reg.stop();
    try {
      const r = await cli(['check', '--plain-http', ref()], { COMPAT_STORE: store });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(digest);
      expect(r.stderr).toMatch(/^compat: /);
    } finally {
      await reg.restart();
    }
    // Back up: the next check repairs it.
    const r = await cli(['check', '--plain-http', ref()], { COMPAT_STORE: store });
    expect(r.status).toBe(0);
    expect(sha256(specBlob)).toBe(digest);
  });
});

describe('compat store verify [--repair]', () => {
  it('finds a bad blob, then removes it, debris of killed processes and dangling tags; leaves foreign files alone', async () => {
    const store = join(dir, 'store-verify');
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    const run = (args: string[]) => cli(args, { COMPAT_STORE: store, TMPDIR: tmp });
    await seedRegistry('apps/verify', ['v1', 'v2']);
    await seedRegistry('apps/other', ['gone']);
    expect((await run(['pull', '--plain-http', `${reg.host}/apps/verify:v1`])).status).toBe(0);
    expect((await run(['pull', '--plain-http', `${reg.host}/apps/other:gone`])).status).toBe(0);

    const clean = await run(['store', 'verify', '--json']);
    expect(clean.stderr).toBe('');
    expect(clean.status).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ sound: true, layouts: 2, bad: [], debris: [], dangling: [] });

    // A blob with the wrong bytes.
    const layout = storeLayout(store, 'apps/verify');
    const manifestDigest = (JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }).manifests[0]!.digest;
    const layer = (JSON.parse(readFileSync(join(layout, 'blobs/sha256', manifestDigest.slice(7)), 'utf8')) as { layers: Array<{ digest: string; size: number }> }).layers[0]!;
    const layerPath = join(layout, 'blobs/sha256', layer.digest.slice(7));
    const bytes = readFileSync(layerPath);
    bytes[10] ^= 1;
    writeFileSync(layerPath, bytes);
    const actual = sha256(layerPath);
    // A tag whose manifest blob is gone.
    const other = storeLayout(store, 'apps/other');
    const otherManifest = (JSON.parse(readFileSync(join(other, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }).manifests[0]!.digest;
    rmSync(join(other, 'blobs/sha256', otherManifest.slice(7)));
    // Debris of killed processes, and what must survive.
    const dead = await deadPid();
    const ingest = join(layout, '.ingest');
    mkdirSync(ingest, { recursive: true });
    const debris = [join(ingest, `0123456789abcdef-${dead}-a1b2c3d4e5f6`), join(layout, `index.json.${dead}.a1b2c3d4e5f6.tmp`), join(tmp, `compat-push-${dead}-Ab12Cd`)];
    writeFileSync(debris[0]!, 'partial');
    writeFileSync(debris[1]!, '{"schemaVe');
    mkdirSync(debris[2]!);
    writeFileSync(join(debris[2]!, 'dir.tar.gz'), 'partial');
    const live = [join(ingest, `fedcba9876543210-${process.pid}-d4e5f6a7b8c9`), join(tmp, `compat-push-${process.pid}-Zz99Yy`), join(tmp, 'compat-push-notes.txt'), join(tmp, 'someone-elses'), join(layout, 'README.tmp.md')];
    writeFileSync(live[0]!, 'in flight');
    mkdirSync(live[1]!);
    writeFileSync(live[2]!, 'not ours');
    mkdirSync(live[3]!);
    writeFileSync(live[4]!, 'not ours');
    // Names without a pid (written before pids were recorded) are debris only once old.
    const legacyOld = join(ingest, '0123456789abcdef-abcdefabcdef');
    const legacyNew = join(ingest, '0123456789abcdef-fedcbafedcba');
    writeFileSync(legacyOld, 'partial');
    writeFileSync(legacyNew, 'in flight');
    const hoursAgo = new Date(Date.now() - 3 * 3600_000);
    utimesSync(legacyOld, hoursAgo, hoursAgo);
    debris.push(legacyOld);
    live.push(legacyNew);

    const found = await run(['store', 'verify', '--json']);
    expect(found.stderr).toBe('');
    expect(found.status).toBe(1);
    const report = JSON.parse(found.stdout);
    expect(report.sound).toBe(false);
    expect(report.bad).toEqual([expect.objectContaining({ digest: layer.digest, layout, expected: { digest: layer.digest, size: layer.size }, actual: { digest: actual, size: layer.size } })]);
    expect(report.debris.map((d: { path: string }) => d.path).sort()).toEqual([...debris].sort());
    expect(report.dangling).toEqual([expect.objectContaining({ layout: other, digest: otherManifest, tag: 'gone' })]);
    for (const p of debris) expect(existsSync(p)).toBe(true);
    expect(existsSync(layerPath)).toBe(true);

    const text = await run(['store', 'verify']);
    expect(text.status).toBe(1);
    expect(text.stdout).toContain(layer.digest);
    expect(text.stdout).toContain('--repair');

    const repaired = await run(['store', 'verify', '--repair', '--json']);
    expect(repaired.stderr).toBe('');
    expect(repaired.status).toBe(0);
    expect(JSON.parse(repaired.stdout)).toMatchObject({ sound: true, repaired: true });
    expect(existsSync(layerPath)).toBe(false);
    for (const p of debris) expect(existsSync(p)).toBe(false);
    for (const p of live) expect(existsSync(p)).toBe(true);
    expect(tagsOf(other)).toEqual([]);
    expect(tagsOf(layout)).toEqual(['v1']);
    expect(skopeoReads(other, 'gone')).toBe(false);

    const after = await run(['store', 'verify', '--json']);
    expect(after.status).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ sound: true, bad: [], debris: [], dangling: [] });
    // The removed blob is fetched again by the next check.
    const r = await run(['check', '--plain-http', `${reg.host}/apps/verify:v1`]);
    expect(r.status).toBe(0);
    expect(sha256(layerPath)).toBe(layer.digest);
    expect(statSync(layerPath).size).toBe(layer.size);
  });

  it('an empty or missing store is sound', async () => {
    // Its own temp dir: push leftovers of other tests' processes in the shared one are not this store's.
    const tmp = join(dir, 'tmp-of-empty-store');
    mkdirSync(tmp, { recursive: true });
    const r = await cli(['store', 'verify', '--json'], { COMPAT_STORE: join(dir, 'no-store-here'), TMPDIR: tmp });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sound: true, layouts: 0, blobs: 0 });
  });
});

describe('a FIFO in a layout is refused at once, never opened for a blocking read', () => {
  let layout: string;
  let blobs: { manifest: string; spec: string };

  beforeAll(async () => {
    layout = join(dir, 'fifo-layout');
    expect((await cli(['push', '--oci-layout', `${layout}:app`, spec])).status).toBe(0);
    const mdigest = (JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }).manifests[0]!.digest;
    const manifest = join(layout, 'blobs/sha256', mdigest.slice(7));
    const layer = (JSON.parse(readFileSync(manifest, 'utf8')) as { layers: Array<{ digest: string }> }).layers[0]!;
    blobs = { manifest, spec: join(layout, 'blobs/sha256', layer.digest.slice(7)) };
  });

  /** Replaces `path` by a FIFO for the duration of `fn`. */
  async function asFifo(path: string, fn: () => Promise<void>): Promise<void> {
    const saved = readFileSync(path);
    rmSync(path);
    execFileSync('mkfifo', [path]);
    try {
      await fn();
    } finally {
      rmSync(path);
      writeFileSync(path, saved);
    }
  }

  it.each([
    ['the manifest blob', () => blobs.manifest],
    ['the spec blob', () => blobs.spec],
    ['index.json', () => join(layout, 'index.json')],
    ['oci-layout', () => join(layout, 'oci-layout')],
  ])('%s as a FIFO: check and pull exit 2 naming it', async (_what, path) => {
    await asFifo(path(), async () => {
      for (const args of [['check', '--oci-layout', `${layout}:app`], ['pull', '--oci-layout', `${layout}:app`, '-o', join(dir, 'fifo-out')]]) {
        const r = await cli(args, {}, 15_000);
        expect(r.timedOut).toBe(false);
        expect(r.status).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toContain(path());
        expect(r.stderr).toMatch(/not a regular file/);
      }
    });
    expect((await cli(['check', '--oci-layout', `${layout}:app`])).status).toBe(0);
  });
});
