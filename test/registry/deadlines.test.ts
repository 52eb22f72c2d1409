import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
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
  type Descriptor,
} from '../../src/registry/index.js';
import { serversClosedAfterEach, trickle } from '../helpers/registry-fault.js';
import { startRegistry, tempDir } from '../helpers/registry.js';

const { fake, tcp } = serversClosedAfterEach();

const TEXT = 'application/vnd.example.text';

let work: string;
beforeAll(() => {
  work = tempDir();
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Client sockets this process opens while `fn` runs: each is one connection attempt. */
async function countConnections<T>(fn: () => Promise<T>): Promise<{ attempts: number; result: T | Error }> {
  let attempts = 0;
  const onSocket = () => attempts++;
  subscribe('net.client.socket', onSocket);
  try {
    const result = await fn().catch((e: Error) => e);
    return { attempts, result };
  } finally {
    unsubscribe('net.client.socket', onSocket);
  }
}

/** Serves one artifact under tag `v1` whose layer `blob` answers. */
function artifactServer(layerContent: Buffer, blob: (res: ServerResponse) => void) {
  const layer: Descriptor = { mediaType: TEXT, digest: digestOf(layerContent), size: layerContent.length };
  const m = buildManifest({ artifactType: 'application/vnd.example', layers: [layer] });
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    if (url.includes('/manifests/')) {
      res.writeHead(200, { 'content-type': MediaType.OciManifest, 'docker-content-digest': m.descriptor.digest, 'content-length': m.bytes.length });
      res.end(req.method === 'HEAD' ? undefined : m.bytes);
    } else if (url.endsWith(`/blobs/${EMPTY_DESCRIPTOR.digest}`)) res.writeHead(200, { 'content-length': 2 }).end(EMPTY_JSON);
    else if (url.endsWith(`/blobs/${layer.digest}`)) blob(res);
    else res.writeHead(404).end();
  };
  return { layer, handler };
}

describe('deadlines', () => {
  test('a refused connection is retried at most once, not with the 5xx backoff', async () => {
    const reg = await startRegistry();
    await reg.stop();
    try {
      const r = new RemoteRepository(`${reg.host}/gone`, { plainHttp: true });
      const { attempts, result } = await countConnections(() => r.resolve('v1'));
      expect(isRegistryError(result, 'NETWORK')).toBe(true);
      expect((result as Error).message).toContain(reg.host);
      expect(attempts).toBeGreaterThanOrEqual(1);
      expect(attempts).toBeLessThanOrEqual(2);
    } finally {
      await reg.dispose();
    }
  });

  test('a registry that accepts and never answers: one attempt, a TIMEOUT naming the host', async () => {
    const s = await tcp(() => undefined);
    const r = new RemoteRepository(`${s.host}/x`, { plainHttp: true, timeoutMs: 300 });
    const e = await r.resolve('v1').catch((x: Error) => x);
    expect(isRegistryError(e, 'TIMEOUT')).toBe(true);
    expect((e as Error).message).toBe(`${s.host}: no answer within 0.3 s`);
    expect(s.connections).toBe(1);
  });

  test('headers that trickle in are cut by the deadline', async () => {
    const s = await tcp((socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      trickle(socket, 'X-Slow: y\r\n', 50);
    });
    const e = await new RemoteRepository(`${s.host}/x`, { plainHttp: true, timeoutMs: 300 }).resolve('v1').catch((x: Error) => x);
    expect(isRegistryError(e, 'TIMEOUT')).toBe(true);
    expect((e as Error).message).toContain(s.host);
  });

  test('a manifest body that trickles is cut by the total deadline of the request', async () => {
    const s = await fake((_req, res) => {
      res.writeHead(200, { 'content-type': MediaType.OciManifest, 'content-length': 100_000 });
      trickle(res, ' ', 20);
    });
    const e = await new RemoteRepository(`${s.host}/x`, { plainHttp: true, timeoutMs: 300 }).fetchManifest('v1').catch((x: Error) => x);
    expect(isRegistryError(e, 'TIMEOUT')).toBe(true);
    expect((e as Error).message).toBe(`${s.host}: answer not complete within 0.3 s`);
    expect(s.requests.length).toBe(1);
  });

  test('a blob that trickles has stalled: clean error, nothing in the store', async () => {
    const content = Buffer.alloc(1 << 20, 7);
    const a = artifactServer(content, (res) => {
      res.writeHead(200, { 'content-length': content.length });
      trickle(res, 'x', 20);
    });
    const s = await fake(a.handler);
    const layout = await OciLayout.open(join(work, 'stalled'));
    const e = await copy(new RemoteRepository(`${s.host}/x`, { plainHttp: true, timeoutMs: 300 }), 'v1', layout, 'v1').catch((x: Error) => x);
    expect(isRegistryError(e, 'TIMEOUT')).toBe(true);
    expect((e as Error).message).toMatch(new RegExp(`^${s.host}: blob sha256:[0-9a-f]{64} stalled: less than 16 KiB in 0.3 s$`));
    expect(existsSync(layout.blobPath(a.layer.digest))).toBe(false);
    const ingest = join(layout.root, '.ingest');
    expect(existsSync(ingest) ? readdirSync(ingest) : []).toEqual([]);
  });

  test('a blob download that keeps moving is not cut by the deadline, however long it takes', async () => {
    const content = Buffer.alloc(2 << 20, 9);
    let pieces = 0;
    const a = artifactServer(content, (res) => {
      res.writeHead(200, { 'content-length': content.length });
      let off = 0;
      const timer = setInterval(() => {
        const piece = content.subarray(off, off + (64 << 10));
        off += piece.length;
        pieces++;
        if (off >= content.length) {
          clearInterval(timer);
          res.end(piece);
        } else res.write(piece);
      }, 25);
      res.on('close', () => clearInterval(timer));
    });
    const s = await fake(a.handler);
    const layout = await OciLayout.open(join(work, 'steady'));
    await copy(new RemoteRepository(`${s.host}/x`, { plainHttp: true, timeoutMs: 300 }), 'v1', layout, 'v1');
    // 32 pieces, each at least 25 ms after the one before: the download outlived the 300 ms
    // deadline, which therefore is not a total one.
    expect(pieces).toBe(32);
    expect(existsSync(layout.blobPath(a.layer.digest))).toBe(true);
  });
});
