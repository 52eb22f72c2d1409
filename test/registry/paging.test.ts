import { afterEach, describe, expect, test } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MediaType, RemoteRepository, buildIndex, digestOf, isRegistryError, type Descriptor } from '../../src/registry/index.js';
import { startFakeServer, type FakeServer } from '../helpers/registry-fault.js';

let servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function fake(handler: Parameters<typeof startFakeServer>[0]) {
  const s = await startFakeServer(handler);
  servers.push(s);
  return s;
}

/** A tag list that never ends: every page links to a new one with fresh tags. */
function endlessTags(perPage: number) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const page = Number(u.searchParams.get('page') ?? 0);
    const tags = Array.from({ length: perPage }, (_, i) => `p${page}-t${i}`);
    res.writeHead(200, { 'content-type': 'application/json', link: `</v2/x/tags/list?n=${perPage}&page=${page + 1}>; rel="next"` });
    res.end(JSON.stringify({ name: 'x', tags }));
  };
}

const SUBJECT: Descriptor = { mediaType: MediaType.OciManifest, digest: digestOf('subject'), size: 7 };

function referrer(i: number): Descriptor {
  return { mediaType: MediaType.OciManifest, digest: digestOf(`referrer ${i}`), size: 100 + i, artifactType: 'application/vnd.example' };
}

describe('paging is bounded, and a bound reached is an error, never a silent truncation', () => {
  test('endless tag pages stop at the tag cap with an error', async () => {
    const s = await fake(endlessTags(10));
    const r = new RemoteRepository(`${s.host}/x`, { plainHttp: true, tagPageSize: 10, maxTags: 45 });
    const e = await r.tags().catch((x: Error) => x);
    expect(isRegistryError(e, 'TOO_LARGE')).toBe(true);
    expect((e as Error).message).toBe(`${s.host}/x: tag list has more than 45 tags: refused rather than cut short`);
    expect(s.requests.length).toBe(5);
  });

  test('endless tag pages stop at the byte cap with an error', async () => {
    const s = await fake(endlessTags(10));
    const r = new RemoteRepository(`${s.host}/x`, { plainHttp: true, tagPageSize: 10, maxListBytes: 1000 });
    const e = await r.tags().catch((x: Error) => x);
    expect(isRegistryError(e, 'TOO_LARGE')).toBe(true);
    expect((e as Error).message).toBe(`${s.host}/x: tag list is larger than 1000 bytes: refused rather than cut short`);
    const smallestPage = JSON.stringify({ name: 'x', tags: Array.from({ length: 10 }, (_, i) => `p0-t${i}`) }).length;
    expect(s.requests.length).toBeLessThanOrEqual(Math.ceil(1000 / smallestPage) + 1);
  });

  test('a Link back to an earlier page is a loop, reported as such', async () => {
    const s = await fake((req, res) => {
      const page = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? 0);
      res.writeHead(200, { 'content-type': 'application/json', link: `</v2/x/tags/list?n=2&page=${page === 2 ? 1 : page + 1}>; rel="next"` });
      res.end(JSON.stringify({ name: 'x', tags: [`a${page}`, `b${page}`] }));
    });
    const e = await new RemoteRepository(`${s.host}/x`, { plainHttp: true, tagPageSize: 2 }).tags().catch((x: Error) => x);
    expect(isRegistryError(e, 'PROTOCOL')).toBe(true);
    expect((e as Error).message).toBe(`${s.host}/x: tag list pages loop back to an earlier page`);
    expect(s.requests.length).toBe(3);
  });

  test('a page of tags seen before under a new Link is reported, not taken for the end', async () => {
    const s = await fake((req, res) => {
      const page = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? 0);
      res.writeHead(200, { 'content-type': 'application/json', link: `</v2/x/tags/list?n=2&page=${page + 1}>; rel="next"` });
      res.end(JSON.stringify({ name: 'x', tags: page < 2 ? [`a${page}`, `b${page}`] : ['a0', 'b0'] }));
    });
    const e = await new RemoteRepository(`${s.host}/x`, { plainHttp: true, tagPageSize: 2 }).tags().catch((x: Error) => x);
    expect(isRegistryError(e, 'PROTOCOL')).toBe(true);
    expect((e as Error).message).toBe(`${s.host}/x: tag list pages repeat earlier tags`);
  });

  test('a registry paging without Link and ignoring `last` ends the walk on the repeated page', async () => {
    const s = await fake((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'x', tags: ['a', 'b'] })));
    expect(await new RemoteRepository(`${s.host}/x`, { plainHttp: true, tagPageSize: 2 }).tags()).toEqual(['a', 'b']);
    expect(s.requests.length).toBe(2);
  });

  test('endless referrers pages stop at the cap with an error', async () => {
    let served = 0;
    const s = await fake((req, res) => {
      const page = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? 0);
      const manifests = Array.from({ length: 10 }, () => referrer(served++));
      res.writeHead(200, { 'content-type': MediaType.OciIndex, link: `</v2/x/referrers/${SUBJECT.digest}?page=${page + 1}>; rel="next"` });
      res.end(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
    });
    const r = new RemoteRepository(`${s.host}/x`, { plainHttp: true, maxReferrers: 25 });
    const e = await r.referrers(SUBJECT).catch((x: Error) => x);
    expect(isRegistryError(e, 'TOO_LARGE')).toBe(true);
    expect((e as Error).message).toBe(`${s.host}/x@${SUBJECT.digest}: referrers: more than 25 referrers: refused rather than cut short`);
    expect(s.requests.length).toBe(3);
  });

  test('a referrers Link loop is reported', async () => {
    const s = await fake((_req, res) => {
      res.writeHead(200, { 'content-type': MediaType.OciIndex, link: `</v2/x/referrers/${SUBJECT.digest}>; rel="next"` });
      res.end(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [referrer(1)] }));
    });
    const e = await new RemoteRepository(`${s.host}/x`, { plainHttp: true }).referrers(SUBJECT).catch((x: Error) => x);
    expect(isRegistryError(e, 'PROTOCOL')).toBe(true);
    expect((e as Error).message).toBe(`${s.host}/x@${SUBJECT.digest}: referrers: pages loop back to an earlier page`);
  });

  test('the fallback tag index is held to the same referrer cap', async () => {
    const index = buildIndex(Array.from({ length: 30 }, (_, i) => referrer(i)));
    const s = await fake((req, res) => {
      if ((req.url ?? '').includes('/referrers/')) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': MediaType.OciIndex, 'docker-content-digest': index.descriptor.digest, 'content-length': index.bytes.length });
      res.end(req.method === 'HEAD' ? undefined : index.bytes);
    });
    const e = await new RemoteRepository(`${s.host}/x`, { plainHttp: true, maxReferrers: 25 }).referrers(SUBJECT).catch((x: Error) => x);
    expect(isRegistryError(e, 'TOO_LARGE')).toBe(true);
    expect((e as Error).message).toBe(`${s.host}/x@${SUBJECT.digest}: referrers: more than 25 referrers: refused rather than cut short`);
    expect(await new RemoteRepository(`${s.host}/x`, { plainHttp: true }).referrers(SUBJECT)).toHaveLength(30);
  });
});
