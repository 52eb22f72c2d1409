import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  EMPTY_DESCRIPTOR,
  EMPTY_JSON,
  MediaType,
  OciLayout,
  RemoteRepository,
  buildManifest,
  copy,
  digestOf,
  isRegistryError,
  pushBytes,
  pushManifest,
  type Descriptor,
} from '../../src/registry/index.js';
import { serversClosedAfterEach } from '../helpers/registry-fault.js';
import { startRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';

const { fake } = serversClosedAfterEach();

const FAST = { plainHttp: true, retries: 2, backoffLimitMs: 50 };
const TEXT = 'application/vnd.example.text';

/** An artifact: manifest bytes and a layer the fake server can serve (or corrupt). */
function artifact(layerContent: Buffer) {
  const layer: Descriptor = { mediaType: TEXT, digest: digestOf(layerContent), size: layerContent.length };
  const m = buildManifest({ artifactType: 'application/vnd.example', layers: [layer] });
  return { layer, manifest: m.bytes, manifestDigest: m.descriptor.digest };
}

let work: string;
beforeAll(() => {
  work = tempDir();
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Serves `a` under tag `v1`; `blob` decides what the layer request gets. */
function registryHandler(a: ReturnType<typeof artifact>, blob: (res: import('node:http').ServerResponse, req: import('node:http').IncomingMessage) => void) {
  return (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const url = req.url ?? '';
    if (url.includes('/manifests/')) {
      res.writeHead(200, { 'content-type': MediaType.OciManifest, 'docker-content-digest': a.manifestDigest, 'content-length': a.manifest.length });
      res.end(req.method === 'HEAD' ? undefined : a.manifest);
    } else if (url.endsWith(`/blobs/${EMPTY_DESCRIPTOR.digest}`)) {
      res.writeHead(200, { 'content-length': 2 }).end(EMPTY_JSON);
    } else if (url.includes('/blobs/')) blob(res, req);
    else res.writeHead(404).end();
  };
}

function noPartials(layout: OciLayout, digest: string) {
  expect(existsSync(layout.blobPath(digest))).toBe(false);
  const ingest = join(layout.root, '.ingest');
  expect(existsSync(ingest) ? readdirSync(ingest) : []).toEqual([]);
}

describe('a misbehaving registry', () => {
  test('a blob that does not match its digest is refused and nothing lands in the store', async () => {
    const a = artifact(Buffer.from('the real content'));
    const s = await fake(registryHandler(a, (res) => res.writeHead(200, { 'content-length': 16 }).end('tampered content')));
    const layout = await OciLayout.open(join(work, 'wrong-digest'));
    const e = await copy(new RemoteRepository(`${s.host}/x`, FAST), 'v1', layout, 'v1').catch((x: Error) => x);
    expect(isRegistryError(e, 'DIGEST_MISMATCH')).toBe(true);
    expect((e as Error).message).toBe(`blob ${a.layer.digest} from ${s.host}/x does not match its digest`);
    noPartials(layout, a.layer.digest);
    expect(existsSync(layout.blobPath(a.manifestDigest))).toBe(false);
    expect(await layout.tags()).toEqual([]);
  });

  test('a manifest that does not match Docker-Content-Digest or the asked digest is refused', async () => {
    const a = artifact(Buffer.from('x'));
    const s = await fake((req, res) => {
      res.writeHead(200, { 'content-type': MediaType.OciManifest, 'docker-content-digest': digestOf('other') }).end(req.method === 'HEAD' ? undefined : a.manifest);
    });
    const r = new RemoteRepository(`${s.host}/x`, FAST);
    await expect(r.fetchManifest('v1')).rejects.toThrow(/does not match its Docker-Content-Digest/);
    await expect(r.fetchManifest(digestOf('other'))).rejects.toThrow(/does not match its digest/);
  });

  test('an oversized manifest is refused, by header and by body', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 32);
    const s = await fake((req, res) => {
      if (req.method === 'HEAD') res.writeHead(200, { 'content-type': MediaType.OciManifest, 'content-length': big.length }).end();
      else if ((req.url ?? '').includes('chunked')) {
        res.writeHead(200, { 'content-type': MediaType.OciManifest });
        res.write(big.subarray(0, 3 << 20));
        res.end(big.subarray(3 << 20));
      } else res.writeHead(200, { 'content-type': MediaType.OciManifest, 'content-length': big.length }).end(big);
    });
    const r = new RemoteRepository(`${s.host}/x`, FAST);
    await expect(r.resolve('v1')).rejects.toThrow(`${s.host}/x:v1: manifest larger than 4 MiB refused`);
    await expect(r.fetchManifest('v1')).rejects.toThrow(/manifest larger than 4 MiB refused/);
    await expect(r.fetchManifest('chunked')).rejects.toThrow(/manifest larger than 4 MiB refused/);
  });

  test('a redirect to another host does not carry the Authorization header', async () => {
    const content = Buffer.from('served by storage');
    const a = artifact(content);
    const storage = await fake((_req, res) => res.writeHead(200, { 'content-length': content.length }).end(content));
    const s = await fake(
      registryHandler(a, (res, req) => {
        if (!req.headers.authorization) res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
        else res.writeHead(307, { location: `http://${storage.host}/bucket/blob?sig=abc` }).end();
      }),
    );
    const layout = await OciLayout.open(join(work, 'redirect'));
    const r = new RemoteRepository(`${s.host}/x`, { ...FAST, credentials: { username: 'u', password: 'secret-pw' } });
    await copy(r, 'v1', layout, 'v1');
    expect(existsSync(layout.blobPath(a.layer.digest))).toBe(true);
    expect(storage.requests.length).toBe(1);
    expect(storage.requests[0]?.headers.authorization).toBeUndefined();
    // and the registry itself did get it
    expect(s.requests.some((q) => q.headers.authorization?.startsWith('Basic '))).toBe(true);
  });

  test('429 with Retry-After is waited out and retried, for manifests and blob streams', async () => {
    const content = Buffer.from('patience');
    const a = artifact(content);
    // When each refusal was sent and when the request came again, as the server saw them.
    const manifestAt: number[] = [];
    const blobAt: number[] = [];
    const inner = registryHandler(a, (res) => {
      if (blobAt.push(Date.now()) === 1) res.writeHead(429, { 'retry-after': '1' }).end();
      else res.writeHead(200, { 'content-length': content.length }).end(content);
    });
    const s = await fake((req, res) => {
      if ((req.url ?? '').includes('/manifests/') && manifestAt.push(Date.now()) === 1) res.writeHead(429, { 'retry-after': '1' }).end();
      else inner(req, res);
    });
    const layout = await OciLayout.open(join(work, 'retry'));
    await copy(new RemoteRepository(`${s.host}/x`, FAST), 'v1', layout, 'v1');
    expect(blobAt).toHaveLength(2);
    // The retry is the event measured: it came no sooner than Retry-After (1 s; timers may round by a ms).
    for (const at of [manifestAt, blobAt]) expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(995);
    expect(await layout.tags()).toEqual(['v1']);
  });

  test('a Retry-After beyond the bound fails with a clear message instead of hanging', async () => {
    const s = await fake((_req, res) => res.writeHead(429, { 'retry-after': '3600' }).end());
    const r = new RemoteRepository(`${s.host}/x`, { ...FAST, maxRetryAfterMs: 2000 });
    await expect(r.resolve('v1')).rejects.toThrow(`${s.host}/x:v1: too many requests (rate limited)`);
    expect(s.requests.length).toBe(1);
  });

  test('a connection dropped mid-blob is a clean error; no partial blob in the store', async () => {
    const content = randomBytes(2 << 20);
    const a = artifact(content);
    const s = await fake(
      registryHandler(a, (res) => {
        res.writeHead(200, { 'content-length': content.length });
        res.write(content.subarray(0, 1 << 20), () => res.socket?.destroy());
      }),
    );
    const layout = await OciLayout.open(join(work, 'dropped'));
    const e = await copy(new RemoteRepository(`${s.host}/x`, FAST), 'v1', layout, 'v1').catch((x: Error) => x);
    expect(isRegistryError(e)).toBe(true);
    expect((e as Error).message).toContain(s.host);
    noPartials(layout, a.layer.digest);
  });

  test('a failing referrers call is an error, never an empty list', async () => {
    const s = await fake((_req, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNKNOWN","message":"boom"}]}'));
    const r = new RemoteRepository(`${s.host}/x`, { ...FAST, retries: 0 });
    const e = await r.referrers({ mediaType: MediaType.OciManifest, digest: digestOf('s'), size: 1 }).catch((x: Error) => x);
    expect(isRegistryError(e, 'REFERRERS')).toBe(true);
    expect((e as Error).message).toMatch(/referrers: unknown: boom$/);
  });

  test('tags follow Link pagination', async () => {
    const all = Array.from({ length: 25 }, (_, i) => `tag${String(i).padStart(2, '0')}`);
    const s = await fake((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const n = Number(u.searchParams.get('n') ?? 100);
      const last = u.searchParams.get('last');
      const start = last ? all.indexOf(last) + 1 : 0;
      const page = all.slice(start, start + n);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (start + n < all.length) headers.link = `</v2/x/tags/list?n=${n}&last=${page[page.length - 1]}>; rel="next"`;
      res.writeHead(200, headers).end(JSON.stringify({ name: 'x', tags: page }));
    });
    const r = new RemoteRepository(`${s.host}/x`, { ...FAST, tagPageSize: 10 });
    expect(await r.tags()).toEqual(all);
    expect(s.requests.length).toBe(3);
  });
});

describe('the registry killed mid-push', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.dispose();
  });

  test('clean error, then the same push re-run completes', async () => {
    const layout = await OciLayout.open(join(work, 'to-push'));
    const data = randomBytes(24 << 20);
    const layer = await pushBytes(layout, data, MediaType.OctetStream);
    await pushBytes(layout, EMPTY_JSON, MediaType.OciEmpty);
    const m = buildManifest({ artifactType: 'application/vnd.example', layers: [layer] });
    await pushManifest(layout, m.bytes, { reference: 'v1' });

    const opts = { ...FAST, retries: 1, chunkBytes: 1 << 20, monolithicMaxBytes: 1 << 20 };
    let killed = false;
    const dst = new RemoteRepository(`${reg.host}/killed/app`, opts);
    const e = await copy(layout, 'v1', dst, 'v1', {
      onProgress: (p) => {
        if (!killed && p.bytes >= 4 << 20) {
          killed = true;
          void reg.stop(true);
        }
      },
    }).catch((x: Error) => x);
    expect(killed).toBe(true);
    expect(isRegistryError(e, 'NETWORK')).toBe(true);
    expect((e as Error).message).toContain(reg.host);
    expect((e as Error).message).not.toContain('\n');

    await reg.restart();
    const again = new RemoteRepository(`${reg.host}/killed/app`, opts);
    const root = await copy(layout, 'v1', again, 'v1');
    expect((await again.resolve('v1')).digest).toBe(root.digest);
    expect(await again.exists(layer)).toBe(true);
  });
});
