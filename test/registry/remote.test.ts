import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  EMPTY_JSON,
  MediaType,
  OciLayout,
  RemoteRepository,
  buildIndex,
  buildManifest,
  copy,
  fetchBytes,
  fetchManifest,
  fetchToFile,
  isRegistryError,
  pushBytes,
  pushManifest,
  referrersTag,
  type CopyEvent,
  type Descriptor,
} from '../../src/registry/index.js';
import { startRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';

const ARTIFACT = 'application/vnd.example.artifact.v1';
const TEXT = 'application/vnd.example.text.v1';

let reg: TestRegistry;
let work: string;
const repo = (name: string, extra = {}) => new RemoteRepository(`${reg.host}/${name}`, { plainHttp: true, retries: 1, backoffLimitMs: 50, ...extra });
const skopeo = (...args: string[]) => execFileSync('skopeo', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Pushes a small artifact (empty config, one text layer) and tags it. */
async function pushArtifact(r: RemoteRepository | OciLayout, tag: string, text: string, subject?: Descriptor) {
  const layer = await pushBytes(r, Buffer.from(text), TEXT, { annotations: { 'org.opencontainers.image.title': 'hello.txt' } });
  await pushBytes(r, EMPTY_JSON, MediaType.OciEmpty);
  const m = buildManifest({ artifactType: ARTIFACT, layers: [layer], annotations: { 'org.opencontainers.image.created': new Date().toISOString() }, ...(subject ? { subject } : {}) });
  const desc = await pushManifest(r, m.bytes, { reference: tag });
  return { desc, bytes: m.bytes, layer };
}

beforeAll(async () => {
  reg = await startRegistry();
  work = tempDir();
});
afterAll(async () => {
  await reg?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('remote repository on distribution 2.8', () => {
  test('artifact round trip: push, resolve, fetch, pull into a layout', async () => {
    const r = repo('test/artifact');
    const { desc, bytes, layer } = await pushArtifact(r, 'v1', 'hello world');
    expect(desc.mediaType).toBe(MediaType.OciManifest);
    const resolved = await r.resolve('v1');
    expect(resolved.digest).toBe(desc.digest);
    expect(resolved.size).toBe(bytes.length);
    const got = await fetchManifest(r, 'v1');
    expect(got.bytes.equals(bytes)).toBe(true);
    expect(got.manifest.artifactType).toBe(ARTIFACT);
    expect((await fetchBytes(r, layer)).toString()).toBe('hello world');

    const layout = await OciLayout.open(join(work, 'store1'));
    const events: CopyEvent[] = [];
    const root = await copy(r, 'v1', layout, 'v1', { onEvent: (e) => events.push(e) });
    expect(root.digest).toBe(desc.digest);
    expect(await layout.tags()).toEqual(['v1']);
    expect(readFileSync(layout.blobPath(layer.digest), 'utf8')).toBe('hello world');
    expect(events.filter((e) => e.type === 'copied').length).toBe(3);
    // A second copy finds the manifest there and skips the whole graph.
    const again: CopyEvent[] = [];
    await copy(r, 'v1', layout, 'v1', { onEvent: (e) => again.push(e) });
    expect(again.filter((e) => e.type === 'copied')).toEqual([]);

    const out = join(work, 'hello.txt');
    await fetchToFile(layout, layer, out);
    expect(readFileSync(out, 'utf8')).toBe('hello world');
  });

  test('unknown tag is a one-line error naming the reference', async () => {
    const r = repo('test/artifact');
    await expect(r.resolve('nope')).rejects.toThrow(`${reg.host}/test/artifact:nope: manifest unknown`);
    const e = await repo('test/never').resolve('x').catch((x: unknown) => x);
    expect(isRegistryError(e)).toBe(true);
    expect((e as Error).message).toMatch(/test\/never:x: (repository name not known to registry|manifest unknown)/);
  });

  test('large blob goes up in chunks and comes back verified; progress is reported', async () => {
    const r = repo('test/big', { chunkBytes: 1 << 20, monolithicMaxBytes: 256 << 10 });
    const data = randomBytes(5 * (1 << 20) + 123);
    const progress: number[] = [];
    const layer = await pushBytes(r, data, MediaType.OctetStream, {}, { onProgress: (p) => progress.push(p.bytes) });
    expect(progress.length).toBeGreaterThanOrEqual(6);
    expect(progress[progress.length - 1]).toBe(data.length);
    expect(await r.exists(layer)).toBe(true);
    const m = buildManifest({ artifactType: ARTIFACT, layers: [layer] });
    await pushBytes(r, EMPTY_JSON, MediaType.OciEmpty);
    await pushManifest(r, m.bytes, { reference: 'big' });
    const layout = await OciLayout.open(join(work, 'store-big'));
    await copy(r, 'big', layout, 'big', { concurrency: 2 });
    const back = readFileSync(layout.blobPath(layer.digest));
    expect(back.equals(data)).toBe(true);
  });

  test('cross-repository mount within one registry', async () => {
    const src = repo('test/artifact');
    const dst = repo('test/mounted');
    const events: CopyEvent[] = [];
    await copy(src, 'v1', dst, 'v1', { onEvent: (e) => events.push(e) });
    expect(events.filter((e) => e.type === 'mounted').length).toBeGreaterThanOrEqual(1);
    expect((await dst.resolve('v1')).digest).toBe((await src.resolve('v1')).digest);
  });

  test('tags: ~30 tags, registry ignores n and sends no Link, all are returned once, sorted', async () => {
    const r = repo('test/tags', { tagPageSize: 10 });
    const { desc, bytes } = await pushArtifact(r, 't00', 'tags');
    const want = ['t00'];
    for (let i = 1; i < 30; i++) {
      const t = `t${String(i).padStart(2, '0')}`;
      await r.pushReference(desc, bytes, t);
      want.push(t);
    }
    expect(await r.tags()).toEqual(want);
  });

  test('referrers through the fallback tag (distribution 2.8 lacks the API)', async () => {
    const r = repo('test/refs');
    const subject = await pushArtifact(r, 'subject', 'the image');
    expect(await r.referrers(subject.desc)).toEqual([]);
    const a = await pushArtifact(r, 'attached-a', 'sig a', subject.desc);
    const b = await pushArtifact(r, 'attached-b', 'sig b', subject.desc);
    const refs = await r.referrers(subject.desc);
    expect(refs.map((d) => d.digest).sort()).toEqual([a.desc.digest, b.desc.digest].sort());
    expect(refs[0]?.artifactType).toBe(ARTIFACT);
    expect(await r.referrers(subject.desc, 'application/other')).toEqual([]);
    const fallback = await fetchManifest(r, referrersTag(subject.desc.digest));
    expect(fallback.descriptor.mediaType).toBe(MediaType.OciIndex);

    // The layout finds referrers too, after a copy of the attached artifact.
    const layout = await OciLayout.open(join(work, 'store-refs'));
    await copy(r, 'subject', layout, 'subject');
    await copy(r, a.desc.digest, layout);
    const local = await layout.referrers(subject.desc);
    expect(local.map((d) => d.digest)).toEqual([a.desc.digest]);
  });
});

describe('interop with skopeo', () => {
  test('skopeo inspect --raw reads what we push', async () => {
    const r = repo('interop/pushed');
    const { bytes } = await pushArtifact(r, 'v1', 'for skopeo');
    const raw = skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/interop/pushed:v1`);
    expect(Buffer.from(raw).equals(bytes)).toBe(true);
  });

  test('skopeo copies our OCI layout to the registry, keeping the digest', async () => {
    const dir = join(work, 'layout-for-skopeo');
    const layout = await OciLayout.open(dir);
    const { desc } = await pushArtifact(layout, 'v2', 'from a layout');
    expect(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    skopeo('copy', '--dest-tls-verify=false', `oci:${dir}:v2`, `docker://${reg.host}/interop/from-layout:v2`);
    expect((await repo('interop/from-layout').resolve('v2')).digest).toBe(desc.digest);
  });

  test('we read what skopeo copies in: a Docker v2 image and an OCI layout skopeo wrote', async () => {
    // A minimal real image (one empty gzip tar layer) written by us, converted by skopeo to Docker v2s2.
    const dir = join(work, 'image-layout');
    const layout = await OciLayout.open(dir);
    const tarBytes = Buffer.alloc(1024);
    const layerBytes = gzipSync(tarBytes);
    const diffId = 'sha256:' + createHash('sha256').update(tarBytes).digest('hex');
    const layer = await pushBytes(layout, layerBytes, MediaType.OciLayerGzip);
    const config = await pushBytes(layout, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] }, config: {} })), MediaType.OciConfig);
    const manifest = { schemaVersion: 2 as const, mediaType: MediaType.OciManifest, config, layers: [layer] };
    await pushManifest(layout, manifest, { reference: 'img' });
    skopeo('copy', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${dir}:img`, `docker://${reg.host}/interop/docker:img`);

    const r = repo('interop/docker');
    const d = await r.resolve('img');
    expect(d.mediaType).toBe(MediaType.DockerManifest);
    const store = await OciLayout.open(join(work, 'docker-pulled'));
    await copy(r, 'img', store, 'img');
    const pulled = await fetchManifest(store, 'img');
    expect(pulled.descriptor.digest).toBe(d.digest);
    expect(existsSync(store.blobPath(layer.digest))).toBe(true);

    // And an image index over it (Docker list or OCI index both accepted).
    const idx = buildIndex([{ ...d, platform: { architecture: 'amd64', os: 'linux' } }]);
    await r.pushReference(idx.descriptor, idx.bytes, 'multi');
    const store2 = await OciLayout.open(join(work, 'index-pulled'));
    await copy(r, 'multi', store2, 'multi');
    expect((await store2.resolve('multi')).mediaType).toBe(MediaType.OciIndex);
    expect(existsSync(store2.blobPath(d.digest))).toBe(true);

    // skopeo writes an OCI layout from the registry; we read it.
    const skDir = join(work, 'skopeo-wrote');
    skopeo('copy', '--src-tls-verify=false', `docker://${reg.host}/interop/pushed:v1`, `oci:${skDir}:got`);
    const sk = new OciLayout(skDir);
    const got = await fetchManifest(sk, 'got');
    expect(got.descriptor.digest).toBe((await repo('interop/pushed').resolve('v1')).digest);
    expect(await sk.tags()).toEqual(['got']);
  });
});

describe('OCI layout store', () => {
  test('a blob that does not match its digest never lands; no temp file stays', async () => {
    const dir = join(work, 'layout-integrity');
    const layout = await OciLayout.open(dir);
    const good = Buffer.from('good');
    const desc = { mediaType: TEXT, digest: 'sha256:' + createHash('sha256').update(good).digest('hex'), size: 4 };
    await expect(layout.push(desc, Buffer.from('evil'))).rejects.toThrow(/does not match its digest/);
    await expect(layout.push(desc, Buffer.from('longer'))).rejects.toThrow(/larger than|bytes, expected/);
    expect(existsSync(layout.blobPath(desc.digest))).toBe(false);
    expect(readdirSync(join(dir, '.ingest'))).toEqual([]);
    await layout.push(desc, good);
    expect(await layout.exists(desc)).toBe(true);
  });

  test('tags replace each other in index.json; concurrent tagging loses nothing', async () => {
    const dir = join(work, 'layout-tags');
    const layout = await OciLayout.open(dir);
    const { desc } = await pushArtifact(layout, 'a', 'one');
    await Promise.all(Array.from({ length: 20 }, (_, i) => layout.tag(desc, `c${i}`)));
    expect((await layout.tags()).length).toBe(21);
    const second = await pushArtifact(layout, 'a', 'two');
    expect((await layout.resolve('a')).digest).toBe(second.desc.digest);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    expect(index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'a').length).toBe(1);
  });

  test('a corrupted blob in the store is refused on read', async () => {
    const dir = join(work, 'layout-corrupt');
    const layout = await OciLayout.open(dir);
    const d = await pushBytes(layout, Buffer.from('pristine'), TEXT);
    writeFileSync(layout.blobPath(d.digest), 'tampered');
    await expect(fetchBytes(layout, d)).rejects.toThrow(/does not match its digest/);
  });
});
