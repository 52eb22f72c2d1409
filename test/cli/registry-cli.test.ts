import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildManifest, pushBytes, pushManifest, RemoteRepository } from '../../src/registry/index.js';
import { compat, compatAsync, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { startFakeServer, type FakeServer } from '../helpers/registry-fault.js';
import { makeCertificate, makeHtpasswd, startRegistry, type TestRegistry } from '../helpers/registry.js';

let reg: TestRegistry;
let dir: string;
let env: Record<string, string>;
let host: string;
const plain = ['--plain-http'];

function run(args: string[], extra: Record<string, string> = {}, input?: string) {
  return compat(args, { env: { ...env, ...extra }, input });
}

/** For servers this test process plays itself: a blocking spawn would starve them. */
function runAsync(args: string[]) {
  return compatAsync(args, { env });
}

beforeAll(async () => {
  reg = await startRegistry();
  host = `${reg.host}`;
  dir = tempDir();
  env = isolatedEnv(dir);
  const g = compat(['gen', '/usr/bin/xz', '-o', join(dir, 'xz.json')]);
  expect(g.status).toBe(0);
});

afterAll(async () => {
  await reg?.dispose();
});

describe('push / list / pull / check against the real registry', () => {
  it('pushes a spec as a compat artifact that skopeo reads', () => {
    const r = run(['push', ...plain, `${host}/apps/xz:compat`, join(dir, 'xz.json')]);
    expect(r.status).toBe(0);
    const digest = /Digest: (sha256:[0-9a-f]{64})/.exec(r.stdout)?.[1];
    expect(digest).toBeDefined();
    const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/apps/xz:compat`], { encoding: 'utf8' }));
    expect(raw.artifactType).toBe('application/vnd.compspec.compat.v1');
    expect(raw.config.mediaType).toBe('application/vnd.oci.empty.v1+json');
    expect(raw.layers[0].mediaType).toBe('application/vnd.compspec.compat.spec.v1+json');
    expect(raw.annotations['io.compspec.compat.platform']).toBe('linux/amd64');
    expect(`sha256:${createHash('sha256').update(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/apps/xz:compat`])).digest('hex')}`).toBe(digest);
  });

  it('pushes an ELF binary by describing it on the fly', () => {
    const r = run(['push', ...plain, `${host}/apps/xz:bin`, '/usr/bin/xz']);
    expect(r.status).toBe(0);
  });

  it('lists artifacts by tag with digest, kind, size and date', () => {
    const r = run(['list', ...plain, '--json', `${host}/apps/xz`]);
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ tag: string; kind: string; size: number; created?: string; digest: string }>;
    expect(rows.map((x) => x.tag)).toEqual(['bin', 'compat']);
    for (const row of rows) {
      expect(row.kind).toBe('compat');
      expect(row.size).toBeGreaterThan(500);
      expect(row.created).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
  });

  it('pulls into the node store and writes the spec file with -o', () => {
    const out = join(dir, 'pulled');
    const r = run(['pull', ...plain, `${host}/apps/xz:compat`, '-o', out]);
    expect(r.status).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'compat-spec.json'), 'utf8')).name).toBe('xz');
    const store = join(dir, 'data/compat/store', host.replace(':', '_'), 'apps/xz');
    expect(JSON.parse(readFileSync(join(store, 'oci-layout'), 'utf8')).imageLayoutVersion).toBe('1.0.0');
    // What compat stored, skopeo reads as an OCI layout.
    expect(JSON.parse(execFileSync('skopeo', ['inspect', '--raw', `oci:${store}:compat`], { encoding: 'utf8' })).artifactType).toBe('application/vnd.compspec.compat.v1');
  });

  it('checks a registry reference, and still does with the registry down', async () => {
    const ok = run(['check', ...plain, `${host}/apps/xz:compat`]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('compatible with this node');
    await reg.stop();
    try {
      const offline = run(['check', ...plain, `${host}/apps/xz:compat`]);
      expect(offline.stdout).toContain('compatible with this node');
      expect(offline.status).toBe(0);
      const never = run(['check', ...plain, `${host}/apps/never-pulled:v1`]);
      expect(never.status).toBe(2);
      expect(never.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await reg.restart();
    }
  });

  it('pushes files and a directory ORAS-style and pulls them back', () => {
    const src = join(dir, 'files');
    mkdirSync(join(src, 'tree/sub'), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'alpha\n');
    writeFileSync(join(src, 'tree/sub/b.txt'), 'beta\n');
    const p = run(['push', ...plain, `${host}/apps/files:v1`, join(src, 'a.txt'), join(src, 'tree'), '--artifact-type', 'application/vnd.example.files']);
    expect(p.status).toBe(0);
    const out = join(dir, 'files-out');
    const r = run(['pull', ...plain, `${host}/apps/files:v1`, '-o', out]);
    expect(r.status).toBe(0);
    expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('alpha\n');
    expect(readFileSync(join(out, 'tree/sub/b.txt'), 'utf8')).toBe('beta\n');
    const rows = JSON.parse(run(['list', ...plain, '--json', `${host}/apps/files`]).stdout);
    expect(rows[0]).toMatchObject({ tag: 'v1', kind: 'other', artifactType: 'application/vnd.example.files' });
  });
});

describe('attach and discover', () => {
  it('attaches a spec to an image and discovers it among its neighbours, newest first', async () => {
    writeFileSync(join(dir, 'payload'), 'image stand-in\n');
    expect(run(['push', ...plain, `${host}/apps/solver:1.2`, join(dir, 'payload')]).status).toBe(0);
    const a = run(['attach', ...plain, `${host}/apps/solver:1.2`, join(dir, 'xz.json')]);
    expect(a.status).toBe(0);
    // A neighbour: an NFD image-compatibility artifact attached to the same image.
    const repo = new RemoteRepository(`${host}/apps/solver`, { plainHttp: true });
    const subject = await repo.resolve('1.2');
    const yaml = Buffer.from('version: v1alpha1\ncompatibilities: []\n');
    const layer = await pushBytes(repo, yaml, 'application/vnd.nfd.image-compatibility.spec.v1alpha1+yaml');
    const { bytes } = buildManifest({ artifactType: 'application/vnd.nfd.image-compatibility.v1alpha1', layers: [layer], subject, annotations: { 'org.opencontainers.image.created': '2001-01-01T00:00:00Z' } });
    await pushBytes(repo, Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
    await pushManifest(repo, bytes);
    const d = run(['discover', ...plain, '--json', `${host}/apps/solver:1.2`]);
    expect(d.status).toBe(0);
    const found = JSON.parse(d.stdout);
    expect(found.subject).toBe(subject.digest);
    expect(found.referrers.map((x: { kind: string }) => x.kind)).toEqual(['compat', 'nfd-image-compatibility']);
    const only = JSON.parse(run(['discover', ...plain, '--json', '--artifact-type', 'application/vnd.compspec.compat.v1', `${host}/apps/solver:1.2`]).stdout);
    expect(only.referrers).toHaveLength(1);
  });

  it('a referrers call that fails is an error, not an empty list', async () => {
    const fake = await startFakeServer((req, res) => {
      if (req.url === '/v2/') return res.writeHead(200).end('{}');
      if (req.url?.includes('/manifests/')) {
        const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 }, layers: [] }));
        return res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': body.length }).end(req.method === 'HEAD' ? undefined : body);
      }
      res.writeHead(500).end('boom');
    });
    try {
      const r = await runAsync(['discover', ...plain, `${fake.host}/x/y:1`]);
      expect(r.status).toBe(2);
      expect(r.stdout).not.toContain('0 referrers');
      expect(r.stderr).toContain('referrers');
    } finally {
      await fake.close();
    }
  });
});

/** A registry that serves a valid manifest whose blob is not what the manifest says. */
async function lyingRegistry(opts: { wrongBlob?: boolean; title?: string }): Promise<FakeServer> {
  const spec = readFileSync(join(dir, 'xz.json'));
  const digest = `sha256:${createHash('sha256').update(spec).digest('hex')}`;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.compspec.compat.v1',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 },
      layers: [{ mediaType: 'application/vnd.compspec.compat.spec.v1+json', digest, size: spec.length, annotations: { 'org.opencontainers.image.title': opts.title ?? 'compat-spec.json' } }],
    }),
  );
  const mdigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  return startFakeServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/v2/') return res.writeHead(200).end('{}');
    if (url.includes('/manifests/')) return res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': mdigest, 'content-length': manifest.length }).end(req.method === 'HEAD' ? undefined : manifest);
    if (url.endsWith(digest)) {
      const body = opts.wrongBlob ? Buffer.from(spec.toString('utf8').replace('xz', 'zx')) : spec;
      return res.writeHead(200, { 'content-length': body.length }).end(req.method === 'HEAD' ? undefined : body);
    }
    if (url.includes('sha256:44136fa3')) return res.writeHead(200, { 'content-length': 2 }).end(req.method === 'HEAD' ? undefined : '{}');
    res.writeHead(404).end();
  });
}

describe('a misbehaving registry', () => {
  it('a blob that does not match its digest makes check an error (exit 2), never a verdict, and nothing lands in the store', async () => {
    const fake = await lyingRegistry({ wrongBlob: true });
    try {
      const r = await runAsync(['check', ...plain, `${fake.host}/evil/app:v1`]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/does not match its digest/);
      expect(r.stdout).toBe('');
      const store = join(dir, 'data/compat/store', fake.host.replace(':', '_'), 'evil/app');
      const blobs = existsSync(join(store, 'blobs/sha256')) ? readdirSync(join(store, 'blobs/sha256')) : [];
      expect(blobs.filter((b) => b !== '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a')).toEqual([]);
    } finally {
      await fake.close();
    }
  });

  it('a file title of ../../x is refused by pull -o and nothing is written', async () => {
    const fake = await lyingRegistry({ title: '../../x' });
    try {
      const out = join(dir, 'evil-out');
      const r = await runAsync(['pull', ...plain, `${fake.host}/evil/title:v1`, '-o', out]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('../../x');
      expect(existsSync(join(dir, 'x'))).toBe(false);
      expect(existsSync(out)).toBe(false);
    } finally {
      await fake.close();
    }
  });
});

describe('login against a TLS registry with htpasswd', () => {
  let secure: TestRegistry;
  let ca: string;
  beforeAll(async () => {
    const d = tempDir();
    const cert = makeCertificate(d);
    ca = cert.cert;
    secure = await startRegistry({ tls: cert, htpasswd: makeHtpasswd(d, 'alice', 's3cret-pw') });
  });
  afterAll(async () => {
    await secure?.dispose();
  });

  it('refuses a wrong password, stores the right one 0600, and push and list use it; no secret in any output', () => {
    const tls = ['--ca-file', ca];
    const bad = run(['login', secure.host, '-u', 'alice', '--password-stdin', ...tls], {}, 'wrong-pw\n');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unauthorized/i);
    const authFile = join(dir, 'config/compat/auth.json');
    expect(existsSync(authFile)).toBe(false);
    const good = run(['login', secure.host, '-u', 'alice', '--password-stdin', ...tls], {}, 's3cret-pw\n');
    expect(good.status).toBe(0);
    expect(good.stdout).toContain('Login Succeeded');
    expect(statSync(authFile).mode & 0o777).toBe(0o600);
    const push = run(['push', ...tls, `${secure.host}/team/xz:v1`, join(dir, 'xz.json')]);
    expect(push.status).toBe(0);
    const list = run(['list', ...tls, '--json', `${secure.host}/team/xz`]);
    expect(JSON.parse(list.stdout)[0].tag).toBe('v1');
    for (const r of [bad, good, push, list]) expect(r.stdout + r.stderr).not.toContain('s3cret-pw');
    expect(run(['logout', secure.host]).stdout).toContain('Removed');
    const anon = run(['list', ...tls, `${secure.host}/team/xz`]);
    expect(anon.status).toBe(2);
    expect(anon.stderr).toContain(`compat login ${secure.host}`);
  });
});
