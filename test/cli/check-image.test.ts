// `check IMAGE`: the compat spec attached to an image (or to an index's platform manifest) is found
// among its referrers, through the fallback tag (distribution 2.8), the referrers API, or an OCI
// layout; the same lookup serves `host labels` and the daemon's `uri`.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { specSource } from '../../src/artifact/spec-source.js';
import { Checker } from '../../src/service/checker.js';
import { loadOrScan } from '../../src/host/host-index.js';
import { compat, compatAsync, expectOneLineError, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { makeImage, skopeoPush, specVariant } from '../helpers/image.js';
import { startFakeServer } from '../helpers/registry-fault.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

let reg: TestRegistry;
let dir: string;
let env: Record<string, string>;
let host: string;
const plain = ['--plain-http'];
/** This node's platform as an image index names it. */
const HOST_PLATFORM = `linux/${({ x64: 'amd64', arm64: 'arm64', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[process.arch] ?? process.arch}`;
const OTHER_PLATFORM = HOST_PLATFORM === 'linux/s390x' ? 'linux/riscv64' : 'linux/s390x';
let good: string;
let bad: string;
let badIndex: string;

const run = (args: string[]) => compat(args, { env });
const runAsync = (args: string[]) => compatAsync(args, { env });
const digestOf = (stdout: string) => /Digest: (sha256:[0-9a-f]{64})/.exec(stdout)?.[1];

beforeAll(async () => {
  reg = await startRegistry();
  host = reg.host;
  dir = tempDir();
  env = isolatedEnv(dir);
  expect(compat(['gen', '/usr/bin/xz', '-o', join(dir, 'xz.json')]).status).toBe(0);
  good = specVariant(join(dir, 'xz.json'), join(dir, 'good.json'), '2030-01-01T00:00:00.000Z');
  bad = specVariant(join(dir, 'xz.json'), join(dir, 'bad.json'), '2020-01-01T00:00:00.000Z', 'libnope.so.1');
  badIndex = specVariant(join(dir, 'xz.json'), join(dir, 'bad-index.json'), '2020-01-01T00:00:00.000Z', 'libindexonly.so.1');
});

afterAll(async () => {
  await reg?.dispose();
});

describe('one rule for "file or reference?"', () => {
  it('an existing path, ./ /, or .json is a file; host/repo:tag and @digest shapes are references; --oci-layout makes any argument a reference', () => {
    expect(specSource(join(dir, 'xz.json'))).toEqual({ kind: 'file', path: join(dir, 'xz.json') });
    expect(specSource('missing.json').kind).toBe('file');
    expect(specSource('./a/b:c').kind).toBe('file');
    expect(specSource('registry.example.org/apps/xz:compat')).toEqual({ kind: 'reference', reference: 'registry.example.org/apps/xz:compat' });
    expect(specSource(`localhost:5000/x@sha256:${'a'.repeat(64)}`).kind).toBe('reference');
    expect(specSource('./layout:app', { ociLayout: true }).kind).toBe('reference');
  });
});

describe('check IMAGE through the fallback tag (distribution 2.8 has no referrers API)', () => {
  it('finds the newest compat artifact attached to an image that skopeo pushed', async () => {
    const image = await makeImage('1');
    skopeoPush(image, `${host}/apps/img:1`);
    expect(run(['attach', ...plain, `${host}/apps/img:1`, bad]).status).toBe(0);
    expect(run(['attach', ...plain, `${host}/apps/img:1`, good]).status).toBe(0);
    const ok = run(['check', ...plain, `${host}/apps/img:1`]);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain('compatible with this node');
    expect(ok.status).toBe(0);
    // A newer, incompatible spec takes over.
    expect(run(['attach', ...plain, `${host}/apps/img:1`, specVariant(bad, join(dir, 'bad-2040.json'), '2040-01-01T00:00:00.000Z')]).status).toBe(0);
    const no = run(['check', ...plain, '--json', `${host}/apps/img:1`]);
    expect(no.status).toBe(1);
    expect(JSON.parse(no.stdout).reasons.map((r: { soname?: string }) => r.soname)).toContain('libnope.so.1');
  });

  it('breaks a tie of creation times by the smaller digest', async () => {
    const image = await makeImage('tie');
    skopeoPush(image, `${host}/apps/tie:1`);
    const same = '2031-01-01T00:00:00.000Z';
    const a = digestOf(run(['attach', ...plain, `${host}/apps/tie:1`, specVariant(good, join(dir, 'tie-good.json'), same)]).stdout)!;
    const b = digestOf(run(['attach', ...plain, `${host}/apps/tie:1`, specVariant(bad, join(dir, 'tie-bad.json'), same)]).stdout)!;
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    const r = run(['check', ...plain, `${host}/apps/tie:1`]);
    expect(r.status).toBe(a < b ? 0 : 1);
  });

  it('an index: --platform picks the platform manifest and its referrers, then the index\'s; the default is this node\'s', async () => {
    const image = await makeImage('multi', [HOST_PLATFORM, 'linux/arm/v7']);
    skopeoPush(image, `${host}/apps/multi:1`);
    const repo = `${host}/apps/multi`;
    expect(run(['attach', ...plain, `${repo}@${image.platforms[HOST_PLATFORM]}`, good]).status).toBe(0);
    expect(run(['attach', ...plain, `${repo}@${image.platforms['linux/arm/v7']}`, bad]).status).toBe(0);
    expect(run(['attach', ...plain, `${repo}:1`, badIndex]).status).toBe(0);
    expect(run(['check', ...plain, `${repo}:1`]).status).toBe(0);
    expect(run(['check', ...plain, '--platform', HOST_PLATFORM, `${repo}:1`]).status).toBe(0);
    const arm = run(['check', ...plain, '--json', '--platform', 'linux/arm/v7', `${repo}:1`]);
    expect(arm.status).toBe(1);
    expect(arm.stdout).toContain('libnope.so.1');
    // No such platform in the index: the index's own referrers answer.
    const other = run(['check', ...plain, '--json', '--platform', OTHER_PLATFORM, `${repo}:1`]);
    expect(other.status).toBe(1);
    expect(other.stdout).toContain('libindexonly.so.1');
    expectOneLineError(run(['check', ...plain, '--platform', 'linux', `${repo}:1`]), /^compat: --platform linux: expected OS\/ARCH\[\/VARIANT\]/);
    // A daemon checks for its own node: the flag is refused rather than silently dropped.
    expectOneLineError(run(['check', '--server', '127.0.0.1:1', '--platform', 'linux/arm/v7', `${repo}:1`]), /^compat: --platform: not sent to a daemon/);
  });

  it('an image with no compat artifact among its referrers is one clear line, exit 2', async () => {
    const image = await makeImage('bare');
    skopeoPush(image, `${host}/apps/bare:1`);
    const r = run(['check', ...plain, `${host}/apps/bare:1`]);
    expectOneLineError(r, new RegExp(`^compat: ${host}/apps/bare:1: image ${image.digest} has no compat artifact \\(application/vnd.compspec.compat.v1\\) among its referrers$`));
  });

  it('host labels IMAGE labels the node from the attached spec', async () => {
    const image = await makeImage('lab');
    skopeoPush(image, `${host}/apps/lab:1`);
    expect(run(['attach', ...plain, `${host}/apps/lab:1`, good]).status).toBe(0);
    const r = run(['host', 'labels', ...plain, '--dry-run', '--json', `${host}/apps/lab:1`]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).labels).toMatchObject([{ reference: `${host}/apps/lab:1`, compatible: true }]);
  });

  it("the daemon's uri naming an image is answered from the attached spec", async () => {
    const image = await makeImage('daemon');
    skopeoPush(image, `${host}/apps/daemon:1`);
    expect(run(['attach', ...plain, `${host}/apps/daemon:1`, bad]).status).toBe(0);
    const saved = process.env.COMPAT_STORE;
    process.env.COMPAT_STORE = join(dir, 'daemon-store');
    try {
      const index = loadOrScan({ indexFile: join(dir, 'daemon-index.json') }).index;
      const c = new Checker({ index: () => index, registry: { plainHttp: true } });
      const r = await c.check({ uri: `${host}/apps/daemon:1` });
      expect(r.status).toBe('SUCCESS');
      expect(r.compatible).toBe(false);
      expect(r.payload).toContain('libnope.so.1');
    } finally {
      if (saved === undefined) delete process.env.COMPAT_STORE;
      else process.env.COMPAT_STORE = saved;
    }
  });
});

describe('check IMAGE in an OCI layout', () => {
  it('finds the spec attached to a platform manifest of an index in the layout', async () => {
    const image = await makeImage('app', [HOST_PLATFORM, OTHER_PLATFORM]);
    const ref = `${image.layout}:app`;
    expect(run(['attach', '--oci-layout', `${image.layout}@${image.platforms[OTHER_PLATFORM]}`, bad]).status).toBe(0);
    expect(run(['attach', '--oci-layout', `${image.layout}@${image.platforms[HOST_PLATFORM]}`, good]).status).toBe(0);
    expect(run(['check', '--oci-layout', ref]).status).toBe(0);
    expect(run(['check', '--oci-layout', '--platform', OTHER_PLATFORM, ref]).status).toBe(1);
  });
});

/**
 * The referrers API, which distribution 2.8 lacks: a front for the real registry that answers
 * `/referrers/<digest>` from what the registry holds and hides the fallback tags, so only a client
 * that uses the API finds anything.
 */
async function referrersApiFront(upstream: string) {
  const forward = (req: IncomingMessage, res: ServerResponse, path: string, method: string, onAnswer?: (status: number, body: Buffer) => void) => {
    const up = request({ host: '127.0.0.1', port: Number(upstream.split(':')[1]), path, method, headers: { ...req.headers, host: upstream, accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' } }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => (onAnswer ? onAnswer(r.statusCode ?? 502, Buffer.concat(chunks)) : res.writeHead(r.statusCode ?? 502, r.headers).end(Buffer.concat(chunks))));
    });
    up.on('error', () => res.writeHead(502).end());
    up.end();
  };
  return startFakeServer((req, res) => {
    const url = req.url ?? '';
    const referrers = /^\/v2\/(.+)\/referrers\/(sha256):([0-9a-f]{64})/.exec(url);
    if (referrers) {
      return forward(req, res, `/v2/${referrers[1]}/manifests/${referrers[2]}-${referrers[3]}`, 'GET', (status, body) => {
        const index = status === 200 ? body : Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', 'content-length': index.length }).end(index);
      });
    }
    if (/\/manifests\/sha256-[0-9a-f]{64}$/.test(url)) return res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
    forward(req, res, url, req.method ?? 'GET');
  });
}

describe('check IMAGE through the referrers API', () => {
  it('uses /v2/<name>/referrers/<digest> when the registry has it', async () => {
    const image = await makeImage('api');
    skopeoPush(image, `${host}/apps/api:1`);
    expect(run(['attach', ...plain, `${host}/apps/api:1`, good]).status).toBe(0);
    const front = await referrersApiFront(host);
    try {
      const r = await runAsync(['check', ...plain, `${front.host}/apps/api:1`]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(front.requests.some((q) => q.url.startsWith(`/v2/apps/api/referrers/${image.digest}`))).toBe(true);
    } finally {
      await front.close();
    }
  });
});

describe('a fallback tag that resolves to the subject itself', () => {
  it('is said to be so, not read as a referrers index', async () => {
    // A registry that answers any digest-shaped tag with the manifest of that digest: asked for
    // `sha256-<hex>` of an index, it returns the index, whose platform manifests are no referrers.
    const child = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'1'.repeat(64)}`, size: 2 }, layers: [] }));
    const childDigest = `sha256:${createHash('sha256').update(child).digest('hex')}`;
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: childDigest, size: child.length, platform: { os: 'linux', architecture: 'amd64' } }] }));
    const indexDigest = `sha256:${createHash('sha256').update(index).digest('hex')}`;
    const fake = await startFakeServer((req, res) => {
      const url = req.url ?? '';
      if (url === '/v2/') return res.writeHead(200).end('{}');
      if (url.includes('/referrers/')) return res.writeHead(404).end('404 page not found');
      const m = /\/manifests\/(.+)$/.exec(url);
      if (!m) return res.writeHead(404).end();
      const ref = m[1]!.replace(/^sha256-/, 'sha256:');
      const body = ref === childDigest || ref.endsWith(childDigest.slice(7)) ? child : index;
      const type = body === child ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.oci.image.index.v1+json';
      res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'docker-content-digest': body === child ? childDigest : indexDigest }).end(req.method === 'HEAD' ? undefined : body);
    });
    try {
      const r = await runAsync(['check', ...plain, '--platform', 'linux/s390x', `${fake.host}/x/y:1`]);
      expectOneLineError(r, new RegExp(`^compat: ${fake.host}/x/y@${indexDigest}: referrers: the fallback tag sha256-[0-9a-f]{64} resolves to the subject itself, not to a referrers index$`));
    } finally {
      await fake.close();
    }
  });
});
