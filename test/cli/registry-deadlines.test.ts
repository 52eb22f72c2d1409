import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { compat, compatAsync, expectOneLineError, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { serversClosedAfterEach, trickle } from '../helpers/registry-fault.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const { fake, tcp } = serversClosedAfterEach();

let dir: string;
let env: Record<string, string>;
const plain = ['--plain-http'];

beforeAll(() => {
  dir = tempDir();
  env = isolatedEnv(dir, {
    // A bound on the heap: a listing that grows without end dies here instead of eating the machine.
    NODE_OPTIONS: '--max-old-space-size=192',
  });
  expect(compat(['gen', '/usr/bin/xz', '-o', join(dir, 'xz.json')]).status).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The CLI run beside the servers this process plays; compatAsync kills it after 60 s (status null). */
function run(args: string[]) {
  return compatAsync(args, { env });
}


const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const EMPTY = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

/** A compat artifact (the xz spec) served under any tag; `manifest` and `blob` may misbehave. */
function artifactRegistry(o: { manifestBody?: (res: ServerResponse, bytes: Buffer) => void; blob?: (res: ServerResponse, bytes: Buffer) => void } = {}) {
  const spec = readFileSync(join(dir, 'xz.json'));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.compspec.compat.v1',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY, size: 2 },
      layers: [{ mediaType: 'application/vnd.compspec.compat.spec.v1+json', digest: sha(spec), size: spec.length, annotations: { 'org.opencontainers.image.title': 'compat-spec.json' } }],
      annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
    }),
  );
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    if (url === '/v2/') return res.writeHead(200).end('{}');
    if (url.includes('/manifests/')) {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': sha(manifest), 'content-length': manifest.length });
      if (req.method === 'HEAD') return res.end();
      return o.manifestBody ? o.manifestBody(res, manifest) : res.end(manifest);
    }
    if (url.endsWith(EMPTY)) return res.writeHead(200, { 'content-length': 2 }).end(req.method === 'HEAD' ? undefined : '{}');
    if (url.endsWith(sha(spec))) {
      res.writeHead(200, { 'content-length': spec.length });
      if (req.method === 'HEAD') return res.end();
      return o.blob ? o.blob(res, spec) : res.end(spec);
    }
    res.writeHead(404).end();
  };
}

describe('--timeout: a registry that is slow on purpose ends the command with one line, exit 2', () => {
  it('accepts the connection and never answers: pull', async () => {
    const s = await tcp(() => undefined);
    const r = await run(['pull', ...plain, '--timeout', '1', `${s.host}/x/y:v1`]);
    expectOneLineError(r, new RegExp(`^compat: ${s.host}: no answer within 1 s$`));
    expect(s.connections).toBe(1);
  });

  it('sends its headers a line at a time: check', async () => {
    const s = await tcp((socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      trickle(socket, 'X-Slow: 1\r\n', 100);
    });
    const r = await run(['check', ...plain, '--timeout', '1', `${s.host}/x/y:v1`]);
    expectOneLineError(r, new RegExp(`^compat: ${s.host}: no answer within 1 s$`));
  });

  it('trickles the manifest a byte at a time: pull', async () => {
    const s = await fake(artifactRegistry({ manifestBody: (res, bytes) => {
      let i = 0;
      const timer = setInterval(() => (i < bytes.length ? res.write(bytes.subarray(i, ++i)) : clearInterval(timer)), 100);
      res.on('close', () => clearInterval(timer));
    } }));
    const r = await run(['pull', ...plain, '--timeout', '1', `${s.host}/x/y:v1`]);
    expectOneLineError(r, new RegExp(`^compat: ${s.host}: answer not complete within 1 s$`));
  });

  it('trickles the spec blob: pull says the download stalled', async () => {
    const s = await fake(artifactRegistry({ blob: (res) => trickle(res, '{', 100) }));
    const r = await run(['pull', ...plain, '--timeout', '1', `${s.host}/x/y:v1`]);
    expectOneLineError(r, new RegExp(`^compat: ${s.host}: blob sha256:[0-9a-f]{64} stalled: less than 16 KiB in 1 s$`));
  });

  it('a well-behaved registry still works with a small --timeout', async () => {
    const s = await fake(artifactRegistry());
    const r = await run(['pull', ...plain, '--timeout', '1', '-o', join(dir, 'out-ok'), `${s.host}/x/ok:v1`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'out-ok', 'compat-spec.json'))).toEqual(readFileSync(join(dir, 'xz.json')));
  });

  it('refuses a --timeout that is not a positive number of seconds', async () => {
    for (const bad of ['0', '-3', 'soon']) {
      const r = await run(['pull', ...plain, '--timeout', bad, '127.0.0.1:1/x/y:v1']);
      expectOneLineError(r, /^compat: .*--timeout/);
    }
  });
});

describe('a registry that is gone', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.dispose();
  });

  it('check REF answers from the store when the registry refuses connections', async () => {
    const ref = `${reg.host}/apps/xz:compat`;
    expect((await run(['push', ...plain, ref, join(dir, 'xz.json')])).status).toBe(0);
    expect((await run(['pull', ...plain, ref])).status).toBe(0);
    await reg.stop();
    const r = await run(['check', ...plain, '--json', ref]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).compatible).toBe(true);
  });
});
