import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { compatAsync, expectOneLineError, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { serversClosedAfterEach } from '../helpers/registry-fault.js';

const { fake } = serversClosedAfterEach();

let dir: string;
let env: Record<string, string>;
const plain = ['--plain-http'];

beforeAll(() => {
  dir = tempDir();
  env = isolatedEnv(dir, {
    // A bound on the heap: a listing that grows without end dies here instead of eating the machine.
    NODE_OPTIONS: '--max-old-space-size=192',
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The CLI run beside the servers this process plays; compatAsync kills it after 60 s (status null). */
function run(args: string[]) {
  return compatAsync(args, { env });
}


const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const EMPTY = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

/** Serves one small artifact manifest under any tag or digest. */
function manifestRegistry() {
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY, size: 2 },
      layers: [],
      annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
    }),
  );
  return (req: IncomingMessage, res: ServerResponse) => {
    if (!(req.url ?? '').includes('/manifests/')) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': sha(manifest), 'content-length': manifest.length });
    res.end(req.method === 'HEAD' ? undefined : manifest);
  };
}

/** Tags served `perPage` at a time, each page linking to the next, `pages` pages (Infinity: no end). */
function taggedRegistry(perPage: number, pages: number) {
  const artifact = manifestRegistry();
  return (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (!u.pathname.endsWith('/tags/list')) return artifact(req, res);
    const page = Number(u.searchParams.get('page') ?? 0);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (page + 1 < pages) headers.link = `</v2/x/y/tags/list?n=${perPage}&page=${page + 1}>; rel="next"`;
    res.writeHead(200, headers).end(JSON.stringify({ name: 'x/y', tags: Array.from({ length: perPage }, (_, i) => `p${page}-${String(i).padStart(4, '0')}`) }));
  };
}

describe('paging without end is an error, not a truncation nor a memory blow-up', () => {
  it('list: a registry whose tag pages never end', async () => {
    const s = await fake(taggedRegistry(1000, Infinity));
    const r = await run(['list', ...plain, `${s.host}/x/y`]);
    expectOneLineError(r, new RegExp(`^compat: ${s.host}/x/y: tag list has more than 100000 tags: refused rather than cut short$`));
  });

  it('list: a tag page that links to itself', async () => {
    const s = await fake((req, res) => {
      const page = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? 0);
      res.writeHead(200, { 'content-type': 'application/json', link: '</v2/x/y/tags/list?page=1>; rel="next"' });
      res.end(JSON.stringify({ name: 'x/y', tags: [`t${page}`] }));
    });
    const r = await run(['list', ...plain, `${s.host}/x/y`]);
    expectOneLineError(r, new RegExp(`^compat: ${s.host}/x/y: tag list pages loop back to an earlier page$`));
  });

  it('list: three honest pages are listed whole', async () => {
    const s = await fake(taggedRegistry(4, 3));
    const r = await run(['list', ...plain, '--json', `${s.host}/x/y`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const tags = (JSON.parse(r.stdout) as Array<{ tag: string }>).map((x) => x.tag);
    expect(tags).toHaveLength(12);
    expect(tags[0]).toBe('p0-0000');
    expect(tags[11]).toBe('p2-0003');
  });

  it('discover: a registry whose referrers pages never end', async () => {
    let n = 0;
    const artifact = manifestRegistry();
    const s = await fake((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (!u.pathname.includes('/referrers/')) return artifact(req, res);
      const manifests = Array.from({ length: 100 }, () => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(Buffer.from(`r${n++}`)), size: 500, artifactType: 'application/vnd.example', annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' } }));
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', link: `<${u.pathname}?page=${n}>; rel="next"` });
      res.end(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
    });
    const r = await run(['discover', ...plain, `${s.host}/x/y:v1`]);
    expectOneLineError(r, new RegExp(`^compat: ${s.host}/x/y@sha256:[0-9a-f]{64}: referrers: more than 10000 referrers: refused rather than cut short$`));
  });
});
