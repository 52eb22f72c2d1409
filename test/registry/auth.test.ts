import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  EMPTY_JSON,
  MediaType,
  RemoteRepository,
  buildManifest,
  credentialChain,
  findCredential,
  isRegistryError,
  login,
  logout,
  pushBytes,
  pushManifest,
  saveCredential,
  removeCredential,
  ClientPool,
  type CredentialOptions,
} from '../../src/registry/index.js';
import { makeCertificate, makeHtpasswd, startRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';
import { startTokenServer, type TokenServer } from '../helpers/registry-token.js';

const USER = 'alice';
const SECRET = 'S3cret-pa55word!';
const noAmbient = (dir: string): CredentialOptions => ({
  keychainService: false,
  authFile: join(dir, 'auth.json'),
  dockerConfig: false,
  podmanAuthFiles: false,
});

async function pushSmall(r: RemoteRepository, tag: string) {
  const layer = await pushBytes(r, Buffer.from(`content ${tag}`), 'application/vnd.example.text');
  await pushBytes(r, EMPTY_JSON, MediaType.OciEmpty);
  return pushManifest(r, buildManifest({ artifactType: 'application/vnd.example', layers: [layer] }).bytes, { reference: tag });
}

function errorOf(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
}

describe('TLS registry with htpasswd (Basic auth)', () => {
  let reg: TestRegistry;
  let dir: string;
  let ca: string;
  beforeAll(async () => {
    dir = tempDir();
    const tls = makeCertificate(dir);
    ca = tls.cert;
    reg = await startRegistry({ tls, htpasswd: makeHtpasswd(dir, USER, SECRET) });
  });
  afterAll(async () => {
    await reg?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an untrusted certificate is a clear TLS error', async () => {
    const e = await errorOf(new RemoteRepository(`${reg.host}/x`, { retries: 0 }).tags());
    expect(isRegistryError(e, 'TLS')).toBe(true);
    expect(e.message).toContain(reg.host);
    expect(e.message).toMatch(/CA file|insecure/);
  });

  test('wrong password is refused and nothing is stored; no secret in the message', async () => {
    const opts = { ...noAmbient(dir), caFile: ca, retries: 0 };
    const e = await errorOf(login(reg.host, { username: USER, password: 'wrong-' + SECRET }, { ...opts, loginHint: (h) => `mytool login ${h}` }));
    expect(isRegistryError(e, 'UNAUTHORIZED')).toBe(true);
    expect(e.message).toBe(`${reg.host}: unauthorized: check credentials (mytool login ${reg.host})`);
    expect(e.message).not.toContain(SECRET);
    expect(JSON.stringify(e)).not.toContain(SECRET);
    expect(existsSync(opts.authFile!)).toBe(false);
  });

  test('anonymous push is unauthorized, naming the repository', async () => {
    const r = new RemoteRepository(`${reg.host}/private/app`, { caFile: ca, retries: 0 });
    const e = await errorOf(pushSmall(r, 'v1'));
    expect(e.message).toMatch(new RegExp(`^${reg.host.replace(/\./g, '\\.')}/private/app.*: unauthorized: check credentials`));
  });

  test('right password is verified, stored 0600, and then used by push and list', async () => {
    const opts = { ...noAmbient(dir), caFile: ca };
    const saved = await login(reg.host, { username: USER, password: SECRET }, opts);
    expect(saved).toEqual({ where: 'file', path: opts.authFile });
    expect(statSync(opts.authFile!).mode & 0o777).toBe(0o600);
    const found = await findCredential(reg.host, undefined, opts);
    expect(found?.source).toBe('auth-file');
    expect(found?.credential).toEqual({ username: USER, password: SECRET });

    const r = new RemoteRepository(`${reg.host}/private/app`, { caFile: ca, credentials: credentialChain(opts) });
    const d = await pushSmall(r, 'v1');
    expect((await r.resolve('v1')).digest).toBe(d.digest);
    expect(await r.tags()).toEqual(['v1']);

    // insecure skips verification instead of trusting the CA.
    const r2 = new RemoteRepository(`${reg.host}/private/app`, { insecure: true, credentials: { username: USER, password: SECRET } });
    expect(await r2.tags()).toEqual(['v1']);

    expect(await logout(reg.host, opts)).toBe(true);
    expect(await findCredential(reg.host, undefined, opts)).toBeUndefined();
  });
});

describe('token auth (distribution auth.token + a small RS256 token server)', () => {
  let reg: TestRegistry;
  let dir: string;
  let tokens: TokenServer;
  beforeAll(async () => {
    dir = tempDir();
    const signing = makeCertificate(dir, 'token-signer');
    tokens = await startTokenServer({ ...signing, untrusted: makeCertificate(dir, 'untrusted'), users: { [USER]: SECRET } });
    reg = await startRegistry({ token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCertBundle: signing.cert } });
  });
  afterAll(async () => {
    await reg?.dispose();
    await tokens?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('bearer flow with push,pull scope; tokens cached per scope', async () => {
    const pool = new ClientPool({ plainHttp: true, credentials: { username: USER, password: SECRET } });
    const r = new RemoteRepository(`${reg.host}/team/app`, { pool });
    const d = await pushSmall(r, 'v1');
    expect(tokens.issued.some((s) => s.includes('repository:team/app:pull,push'))).toBe(true);
    const before = tokens.issued.length;
    expect((await r.resolve('v1')).digest).toBe(d.digest);
    await r.resolve('v1');
    await r.tags();
    // pull scope fetched at most once more, then cached
    expect(tokens.issued.length - before).toBeLessThanOrEqual(1);
  });

  test('anonymous is refused; wrong password refused by the token server; login verifies', async () => {
    const anon = new RemoteRepository(`${reg.host}/team/app`, { plainHttp: true, retries: 0 });
    const e1 = await errorOf(anon.tags());
    expect(isRegistryError(e1, 'UNAUTHORIZED')).toBe(true);
    const e2 = await errorOf(login(reg.host, { username: USER, password: 'nope' }, { ...noAmbient(dir), plainHttp: true }));
    expect(isRegistryError(e2, 'UNAUTHORIZED')).toBe(true);
    expect(e2.message).not.toContain('nope');
    const saved = await login(reg.host, { username: USER, password: SECRET }, { ...noAmbient(dir), plainHttp: true });
    expect(saved.where).toBe('file');
  });

  test('a cached token the registry refuses (expired, revoked) is replaced once', async () => {
    const r = new RemoteRepository(`${reg.host}/team/app`, { plainHttp: true, credentials: { username: USER, password: SECRET } });
    // The next token is signed by a key the registry does not trust: it gets cached, then refused.
    tokens.untrustedNext = true;
    await expect(r.tags()).rejects.toThrow(/unauthorized/);
    tokens.untrustedNext = false;
    const before = tokens.issued.length;
    expect(await r.tags()).toEqual(['v1']);
    expect(tokens.issued.length).toBe(before + 1);
  });
});

describe('credential chain', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('explicit beats files; docker config auths and Hub key; podman file last', async () => {
    const docker = join(dir, 'docker.json');
    const podman = join(dir, 'podman.json');
    writeFileSync(docker, JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('hub:hubpw').toString('base64') }, 'reg.example:5000': { auth: Buffer.from('d:dpw').toString('base64') } } }));
    writeFileSync(podman, JSON.stringify({ auths: { 'reg.example:5000': { auth: Buffer.from('p:ppw').toString('base64') }, 'only.podman/team': { auth: Buffer.from('t:tpw').toString('base64') } } }));
    const base: CredentialOptions = { keychainService: false, authFile: join(dir, 'own.json'), dockerConfig: docker, podmanAuthFiles: [podman] };
    expect(await credentialChain(base)('registry-1.docker.io')).toEqual({ username: 'hub', password: 'hubpw' });
    expect(await credentialChain(base)('reg.example:5000')).toEqual({ username: 'd', password: 'dpw' });
    expect(await credentialChain({ ...base, dockerConfig: false })('reg.example:5000')).toEqual({ username: 'p', password: 'ppw' });
    expect(await credentialChain(base)('only.podman', 'team/app')).toEqual({ username: 't', password: 'tpw' });
    expect(await credentialChain(base)('only.podman', 'other/app')).toBeUndefined();
    expect(await credentialChain({ ...base, explicit: { 'reg.example:5000': { username: 'e', password: 'epw' } } })('reg.example:5000')).toEqual({ username: 'e', password: 'epw' });
  });

  test('credHelpers and credsStore speak the docker-credential protocol', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const helper = join(bin, 'docker-credential-fake');
    writeFileSync(helper, '#!/bin/sh\nread host\nif [ "$host" = "helped.example" ]; then echo \'{"ServerURL":"helped.example","Username":"hu","Secret":"hs"}\'; elif [ "$host" = "token.example" ]; then echo \'{"Username":"<token>","Secret":"refresh"}\'; else echo "credentials not found in native keychain"; exit 1; fi\n');
    chmodSync(helper, 0o755);
    const cfg = join(dir, 'helper.json');
    writeFileSync(cfg, JSON.stringify({ credHelpers: { 'helped.example': 'fake' }, credsStore: 'fake' }));
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    const opts: CredentialOptions = { keychainService: false, authFile: join(dir, 'none.json'), dockerConfig: cfg, podmanAuthFiles: false, env };
    expect(await credentialChain(opts)('helped.example')).toEqual({ username: 'hu', password: 'hs' });
    expect(await credentialChain(opts)('token.example')).toEqual({ identityToken: 'refresh' });
    expect(await credentialChain(opts)('unknown.example')).toBeUndefined();
    const e = await errorOf(credentialChain({ ...opts, env: { PATH: '/nonexistent' } })('helped.example'));
    expect(e.message).toBe('credential helper docker-credential-fake cannot run (ENOENT)');
  });

  test('save writes 0600 docker-style JSON, keeps other entries, remove forgets', async () => {
    const opts: CredentialOptions = { keychainService: false, authFile: join(dir, 'sub', 'auth.json') };
    await saveCredential('a.example', { username: 'u1', password: 'p1' }, opts);
    await saveCredential('b.example', { username: 'u2', password: 'p2' }, opts);
    expect(statSync(opts.authFile!).mode & 0o777).toBe(0o600);
    const json = JSON.parse(readFileSync(opts.authFile!, 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(json.auths['a.example']!.auth, 'base64').toString()).toBe('u1:p1');
    expect(await removeCredential('a.example', opts)).toBe(true);
    expect(await credentialChain({ ...opts, dockerConfig: false, podmanAuthFiles: false })('a.example')).toBeUndefined();
    expect(await credentialChain({ ...opts, dockerConfig: false, podmanAuthFiles: false })('b.example')).toEqual({ username: 'u2', password: 'p2' });
  });

  test('an unreadable config file is named, its content never shown', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"auths": {"x": {"auth": "c2VjcmV0OnZhbHVl"}');
    const e = await errorOf(credentialChain({ keychainService: false, authFile: bad })('x'));
    expect(e.message).toBe(`${bad}: not valid JSON`);
  });
});
