import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compatAsync, expectOneLineError, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { makeCertificate, makeClientCertificate, makeHtpasswd, startRegistry, type TestRegistry } from '../helpers/registry.js';

/**
 * How compat reaches a registry, against the real one: plain HTTP for `localhost` unless told
 * otherwise (as ORAS does), TLS with client certificates, and --verbose's request lines.
 */
let dir: string;
let env: Record<string, string>;
let file: string;
const run = (args: string[], extra: Record<string, string> = {}) => compatAsync(args, { env: { ...env, ...extra } });

beforeAll(() => {
  dir = tempDir();
  env = isolatedEnv(dir);
  file = join(dir, 'hello.txt');
  writeFileSync(file, 'hello\n');
});

describe('localhost talks plain HTTP by default, as ORAS does', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.dispose();
  });

  it('push and list localhost:PORT without --plain-http', async () => {
    const ref = `localhost:${reg.port}/team/hello:v1`;
    const push = await run(['push', ref, file]);
    expect(push.stderr).toBe('');
    expect(push.status).toBe(0);
    const list = await run(['list', '--json', `localhost:${reg.port}/team/hello`]);
    expect(JSON.parse(list.stdout)[0].tag).toBe('v1');
  });

  it('127.0.0.1 keeps TLS (only the name localhost is special, as in ORAS)', async () => {
    expectOneLineError(await run(['list', `127.0.0.1:${reg.port}/team/hello`]), /127\.0\.0\.1:\d+: TLS handshake failed: is it a plain-HTTP registry\?/);
  });

  it('--plain-http=false, --no-plain-http and --ca-file mean TLS for localhost too', async () => {
    const ca = makeCertificate(tempDir()).cert;
    for (const flags of [['--plain-http=false'], ['--no-plain-http'], ['--ca-file', ca]]) {
      expectOneLineError(await run(['list', ...flags, `localhost:${reg.port}/team/hello`]), /localhost:\d+: TLS handshake failed/);
    }
  });
});

describe('mTLS: --cert-file and --key-file beside --ca-file', () => {
  let reg: TestRegistry;
  let ca: string;
  let client: { ca: string; cert: string; key: string };
  beforeAll(async () => {
    const d = tempDir();
    const server = makeCertificate(d);
    ca = server.cert;
    client = makeClientCertificate(d);
    reg = await startRegistry({ tls: { ...server, clientCa: client.ca } });
  });
  afterAll(async () => {
    await reg?.dispose();
  });

  it('a registry that asks for a client certificate gets one', async () => {
    const tls = ['--ca-file', ca, '--cert-file', client.cert, '--key-file', client.key];
    const push = await run(['push', ...tls, `${reg.host}/team/hello:v1`, file]);
    expect(push.stderr).toBe('');
    expect(push.status).toBe(0);
    const list = await run(['list', ...tls, '--json', `${reg.host}/team/hello`]);
    expect(JSON.parse(list.stdout)[0].tag).toBe('v1');
  });

  it('without the client certificate the registry refuses, in one line', async () => {
    const r = await run(['list', '--ca-file', ca, `${reg.host}/team/hello`]);
    expectOneLineError(r, new RegExp(`^compat: ${reg.host.replace(/\./g, '\\.')}: the registry refused the client certificate \\(\\w+\\): give one it trusts`));
  });

  it('a key file that cannot be read is named', async () => {
    const r = await run(['list', '--ca-file', ca, '--cert-file', client.cert, '--key-file', join(dir, 'nope.key'), `${reg.host}/team/hello`]);
    expectOneLineError(r, /nope\.key/);
  });

  it('--cert-file without --key-file is a usage error', async () => {
    expectOneLineError(await run(['list', '--ca-file', ca, '--cert-file', client.cert, `${reg.host}/team/hello`]), /--cert-file.*--key-file/);
  });
});

describe('--verbose and --debug', () => {
  let reg: TestRegistry;
  const SECRET = 'verbose-s3cret';
  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: makeHtpasswd(tempDir(), 'alice', SECRET) });
  });
  afterAll(async () => {
    await reg?.dispose();
  });

  it('one line per request and per response on stderr, Authorization redacted', async () => {
    const r = await run(['push', '--verbose', '--plain-http', '-u', 'alice', `${reg.host}/team/hello:v1`, file], { COMPAT_PASSWORD: SECRET });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Pushed');
    const lines = r.stderr.trimEnd().split('\n');
    const requests = lines.filter((l) => /^compat: > (GET|HEAD|PUT|POST|PATCH) http:\/\/127\.0\.0\.1:\d+\/v2\//.test(l));
    const responses = lines.filter((l) => /^compat: < \d{3} (GET|HEAD|PUT|POST|PATCH) http:\/\/127\.0\.0\.1:\d+\/v2\//.test(l));
    expect(requests.length).toBeGreaterThan(3);
    expect(responses.length).toBe(requests.length);
    expect(requests.length + responses.length).toBe(lines.length);
    expect(lines.some((l) => /^compat: < 401 /.test(l))).toBe(true);
    expect(requests.some((l) => l.endsWith('[Authorization: Basic ***]'))).toBe(true);
    expect(r.stderr).not.toContain(SECRET);
    expect(r.stderr).not.toContain(Buffer.from(`alice:${SECRET}`).toString('base64'));
  });

  it('without --verbose, nothing of it', async () => {
    const r = await run(['list', '--plain-http', '-u', 'alice', `${reg.host}/team/hello`], { COMPAT_PASSWORD: SECRET });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('--debug keeps the stack of a registry error', async () => {
    const r = await run(['list', '--plain-http', '--debug', `${reg.host}/team/hello`]);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/^compat: .*compat login/);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});
