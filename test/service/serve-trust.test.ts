// What a caller of `compat serve` can make the daemon do: which registries it talks to, with whose
// credentials, and what reaches its log. The real daemon process, a real registry with htpasswd,
// and a small server playing the attacker (it asks for Basic credentials and records what it gets).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRemote } from '../../src/service/client.js';
import { compat, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { type FakeServer, startFakeServer } from '../helpers/registry-fault.js';
import { makeHtpasswd, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { ensureServeBuilt, type ServerProcess, spawnServer } from './server-process.js';
import { makeSpecs, type SpecFixtures } from './specs.js';

const USER = 'alice';
const PASSWORD = 'daemon-s3cret';
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');

let dir: string;
let env: Record<string, string>;
let specs: SpecFixtures;
let reg: TestRegistry;
let attacker: FakeServer;
const servers: ServerProcess[] = [];

async function serve(args: string[]): Promise<ServerProcess> {
  const s = await spawnServer(args, env);
  servers.push(s);
  return s;
}

beforeAll(async () => {
  ensureServeBuilt();
  dir = tempDir('compat-serve-trust-');
  // Nothing of the machine's own credentials may take part: every store points into dir.
  env = isolatedEnv(dir, { HOME: join(dir, 'home'), XDG_RUNTIME_DIR: join(dir, 'run') });
  specs = makeSpecs(env);
  reg = await startRegistry({ htpasswd: makeHtpasswd(dir, USER, PASSWORD) });
  writeFileSync(join(dir, 'xz.compat.json'), specs.compatible);
  const pushed = compat(['push', '--plain-http', '-u', USER, `${reg.host}/compat/xz:1.0`, join(dir, 'xz.compat.json')], { env: { ...env, COMPAT_PASSWORD: PASSWORD } });
  expect({ status: pushed.status, stderr: pushed.stderr }).toEqual({ status: 0, stderr: '' });
  attacker = await startFakeServer((_req, res) => {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="attacker"', 'content-type': 'application/json' });
    res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
  });
});

afterAll(async () => {
  for (const s of servers) s.kill();
  await attacker?.close();
  await reg?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sentCredentials = (s: FakeServer) => s.requests.filter((r) => r.headers.authorization !== undefined || JSON.stringify(r).includes(BASIC));

describe('serve: credentials belong to the registry they were given for', () => {
  let daemon: ServerProcess;
  beforeAll(async () => {
    daemon = await serve(['--plain-http', '--registry', reg.host, '-u', USER, '-p', PASSWORD]);
  });

  it('the --registry host with its credentials: a uri is pulled and checked end to end', async () => {
    const ok = await checkRemote(daemon.address, { uri: `${reg.host}/compat/xz:1.0` });
    expect([ok.status, ok.compatible, ok.payload.slice(0, 1)]).toEqual(['SUCCESS', true, '{']);
    const missing = await checkRemote(daemon.address, { uri: `${reg.host}/compat/xz:nope` });
    expect([missing.status, missing.payload]).toEqual(['ERROR', expect.stringContaining(`${reg.host}/compat/xz:nope`)]);
  });

  it('a uri naming a registry the daemon is not allowed: ERROR, and not one connection to it', async () => {
    const r = await checkRemote(daemon.address, { uri: `${attacker.host}/compat/xz:1.0` });
    expect([r.status, r.compatible]).toEqual(['ERROR', false]);
    expect(r.payload).toMatch(new RegExp(`registry ${attacker.host.replace(/\./g, '\\.')} is not allowed`));
    expect(attacker.connections()).toBe(0);
    expect(attacker.requests).toEqual([]);
  });

  it('a uri without a registry host is never sent to Docker Hub: ERROR saying so', async () => {
    for (const uri of ['library/ubuntu:latest', 'ubuntu', 'compat/xz:1.0', 'ubuntu@sha256:' + 'a'.repeat(64)]) {
      const r = await checkRemote(daemon.address, { uri });
      expect({ uri, status: r.status }).toEqual({ uri, status: 'ERROR' });
      expect(r.payload).toMatch(/names no registry host.*Docker Hub/);
    }
  });
});

describe('serve --allow-registry: a registry allowed is still no registry of the credentials', () => {
  it('the attacker allowed: it is asked, answers 401 Basic, and gets no Authorization header', async () => {
    const daemon = await serve(['--plain-http', '--registry', reg.host, '-u', USER, '-p', PASSWORD, '--allow-registry', attacker.host]);
    const before = attacker.requests.length;
    const r = await checkRemote(daemon.address, { uri: `${attacker.host}/compat/xz:1.0` });
    expect([r.status, r.compatible]).toEqual(['ERROR', false]);
    expect(r.payload).toMatch(/unauthorized/);
    expect(attacker.requests.length).toBeGreaterThan(before); // allowed: it was asked
    expect(sentCredentials(attacker)).toEqual([]);
    // The registry the credentials are for still works from the same daemon.
    const ok = await checkRemote(daemon.address, { uri: `${reg.host}/compat/xz:1.0` });
    expect([ok.status, ok.compatible]).toEqual(['SUCCESS', true]);
  });

  it('--allow-registry alone: the registry is asked, without credentials (none were given for it)', async () => {
    const daemon = await serve(['--plain-http', '--allow-registry', reg.host]);
    const r = await checkRemote(daemon.address, { uri: `${reg.host}/compat/xz:1.0` });
    expect([r.status, r.payload]).toEqual(['ERROR', expect.stringMatching(/unauthorized/)]);
    const other = await checkRemote(daemon.address, { uri: `${attacker.host}/compat/xz:1.0` });
    expect(other.payload).toMatch(/is not allowed/);
  });

  it('-u without --registry, or a malformed pattern: one line, exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['-u', USER, '-p', PASSWORD], /compat: -u\/--username needs --registry HOST/],
      [['--allow-registry', 'not a host'], /compat: --allow-registry not a host: /],
      [['--allow-registry', '*'], /compat: --allow-registry \*: /],
      [['--registry', 'https://example.com'], /compat: --registry https:\/\/example\.com: /],
    ];
    for (const [args, message] of cases) {
      const err = await serve(args).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      const text = (err as Error).message;
      expect(text).toMatch(/server exited \(2\)/);
      const stderr = text.slice(text.indexOf('stderr: ') + 'stderr: '.length);
      expect(stderr).toMatch(message);
      // A password typed on the command line is warned about first (a line of its own).
      expect(stderr.trim().split('\n').filter((l) => !l.startsWith('compat: warning: -p/--password: '))).toHaveLength(1);
    }
  });
});
