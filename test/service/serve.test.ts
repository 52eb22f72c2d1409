// `compat serve` as deployed: the built CLI spawned on a free loopback port (or a unix socket),
// called by a gRPC client that knows only the checked-in contract.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { checkHealth, checkRemote, CompatClient, RemoteError } from '../../src/service/client.js';
import type { CompatResponse } from '../../src/service/proto.js';
import { compat, gcc, tempDir } from '../helpers/fixtures.js';
import { startRegistry } from '../helpers/registry.js';
import { ensureServeBuilt, type ServerProcess, spawnServer } from './server-process.js';
import { makeSpecs, renamed, type SpecFixtures } from './specs.js';

let dir: string;
let env: Record<string, string>;
let specs: SpecFixtures;
let srv: ServerProcess;
const others: ServerProcess[] = [];

beforeAll(async () => {
  ensureServeBuilt();
  dir = tempDir('compat-serve-');
  env = { XDG_CACHE_HOME: join(dir, 'cache'), XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
  specs = makeSpecs(env);
  srv = await spawnServer([], env);
});

afterAll(() => {
  srv?.kill();
  for (const s of others) s.kill();
});

interface Report {
  compatible: boolean;
  reasons: Array<{ kind: string; soname?: string; message: string }>;
  host: { fingerprint: string };
}
const report = (r: CompatResponse) => JSON.parse(r.payload) as Report;

describe('compat serve over TCP loopback', () => {
  it('prints its ready line with the real port and logs the index it loaded', () => {
    expect(srv.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(srv.address).not.toBe('127.0.0.1:0');
    expect(srv.stderr()).toMatch(/info host index (loaded|scanned): \d+ libraries, fingerprint [0-9a-f]+/);
  });

  it('answers grpc.health.v1.Health SERVING, for the server and for the service', async () => {
    expect(await checkHealth(srv.address)).toBe('SERVING');
    expect(await checkHealth(srv.address, 'convergedcomputing.org.grpc.v1.CompatibilityService')).toBe('SERVING');
    await expect(checkHealth(srv.address, 'no.such.Service')).rejects.toThrow(/NOT_FOUND/);
  });

  it('a compatible spec: SUCCESS, compatible, the JSON report as payload', async () => {
    const r = await checkRemote(srv.address, { payload: specs.compatible });
    expect(r.status).toBe('SUCCESS');
    expect(r.compatible).toBe(true);
    const rep = report(r);
    expect(rep.compatible).toBe(true);
    expect(rep.reasons).toEqual([]);
    expect(rep.host.fingerprint).toMatch(/^[0-9a-f]+$/);
  });

  it('an incompatible spec: SUCCESS (a check ran), not compatible, the reason names the missing soname', async () => {
    const r = await checkRemote(srv.address, { payload: specs.incompatible });
    expect(r.status).toBe('SUCCESS');
    expect(r.compatible).toBe(false);
    const rep = report(r);
    expect(rep.compatible).toBe(false);
    expect(rep.reasons).toEqual([expect.objectContaining({ kind: 'missing-library', soname: specs.missingSoname, message: expect.stringContaining(specs.missingSoname) })]);
  });

  it("the seed prototype's legacy {version, attributes} payload", async () => {
    const ok = await checkRemote(srv.address, { payload: specs.legacy });
    expect([ok.status, ok.compatible]).toEqual(['SUCCESS', true]);
    const bad = await checkRemote(srv.address, { payload: specs.legacyMissing });
    expect([bad.status, bad.compatible]).toEqual(['SUCCESS', false]);
    expect(report(bad).reasons.map((x) => x.soname)).toEqual([specs.missingSoname]);
  });

  it('junk payloads: status ERROR with a message, never a crash', async () => {
    const junk: Array<[string, RegExp]> = [
      ['', /empty request/],
      ['{', /payload: not valid JSON/],
      ['null', /payload: not a compat spec \(expected a JSON object\)/],
      ['42', /not a compat spec/],
      ['"a string"', /not a compat spec/],
      ['[]', /not a compat spec/],
      ['{}', /no schemaVersion/],
      ['{"schemaVersion": "one", "kind": 7, "platform": [], "binaries": {}, "attributes": null}', /invalid compat spec/],
      ['{"schemaVersion": 1, "kind": "binary", "platform": {"os": "linux", "architecture": "amd64"}, "binaries": [{"path": 3}], "attributes": {}}', /invalid compat spec: \/binaries\/0/],
      ['{"version": 1, "attributes": []}', /legacy spec needs a string "version"/],
      ['{"version": "0.0.1", "attributes": {"llnl.compatlib.executable-name": 5}}', /must be a string/],
      ['\u0000\u0001\ufffd binary junk \ud800', /not valid JSON/],
      ['{"a":'.repeat(50000), /not valid JSON/],
    ];
    for (const [payload, message] of junk) {
      const r = await checkRemote(srv.address, { payload });
      expect({ payload: payload.slice(0, 40), status: r.status, compatible: r.compatible }).toEqual({ payload: payload.slice(0, 40), status: 'ERROR', compatible: false });
      expect(r.payload).toMatch(message);
    }
    const both = await checkRemote(srv.address, { payload: specs.compatible, uri: 'localhost:5000/app:compat' });
    expect([both.status, both.payload]).toEqual(['ERROR', 'set payload or uri, not both']);
    expect(await checkHealth(srv.address)).toBe('SERVING');
  });

  it('a 5 MB payload is refused by the message limit (RESOURCE_EXHAUSTED); the daemon keeps serving', async () => {
    const big = JSON.stringify({ version: '0.0.1', attributes: { 'llnl.compatlib.executable-name': 'x'.repeat(5 * 1024 * 1024) } });
    const err = await checkRemote(srv.address, { payload: big }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect((err as RemoteError).message).toContain(srv.address);
    const r = await checkRemote(srv.address, { payload: specs.compatible });
    expect(r.status).toBe('SUCCESS');
  });

  it('bytes that are not a CompatRequest at all get a gRPC error, and the daemon keeps serving', async () => {
    const raw = new grpc.Client(srv.address, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      raw.makeUnaryRequest(
        '/convergedcomputing.org.grpc.v1.CompatibilityService/CheckCompatibility',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x0f]), // a field with wire type 7: no protobuf decoder accepts it
        (e) => resolve(e),
      ),
    );
    raw.close();
    expect(err?.code).toBe(grpc.status.INTERNAL);
    expect((await checkRemote(srv.address, { payload: specs.compatible })).compatible).toBe(true);
  });

  it('a registry uri: the artifact is pulled from a real registry (distribution) and checked', async () => {
    const reg = await startRegistry();
    try {
      writeFileSync(join(dir, 'xz.compat.json'), specs.compatible);
      writeFileSync(join(dir, 'xz-bad.compat.json'), specs.incompatible);
      for (const [tag, file] of [['1.0', 'xz.compat.json'], ['bad', 'xz-bad.compat.json']]) {
        const r = compat(['push', '--plain-http', `${reg.host}/compat/xz:${tag}`, join(dir, file!)], { env });
        expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
      }
      const s = await spawnServer(['--plain-http', '--allow-registry', reg.host], env);
      others.push(s);
      const ok = await checkRemote(s.address, { uri: `${reg.host}/compat/xz:1.0` });
      expect([ok.status, ok.compatible, report(ok).compatible]).toEqual(['SUCCESS', true, true]);
      const bad = await checkRemote(s.address, { uri: `${reg.host}/compat/xz:bad` });
      expect([bad.status, bad.compatible]).toEqual(['SUCCESS', false]);
      expect(report(bad).reasons.map((x) => x.soname)).toEqual([specs.missingSoname]);
      // Asked again: the verdict comes from the cache (keyed by the artifact's digest).
      await checkRemote(s.address, { uri: `${reg.host}/compat/xz:1.0` });
      await s.waitForLog(new RegExp(`check ${reg.host}/compat/xz:1\\.0 compatible [\\d.]+ ms cached`));
      const missing = await checkRemote(s.address, { uri: `${reg.host}/compat/xz:nope` });
      expect([missing.status, missing.compatible]).toEqual(['ERROR', false]);
      expect(missing.payload).toContain(`${reg.host}/compat/xz:nope`);
      const junk = await checkRemote(s.address, { uri: 'not a reference' });
      expect([junk.status, junk.payload]).toEqual(['ERROR', expect.stringContaining('not a reference')]);
      s.proc.kill('SIGTERM');
      expect((await s.exited(8000)).code).toBe(0);
    } finally {
      await reg.dispose();
    }
  });

  it('logs one line per check at info, with the verdict and the time; a repeat comes from the verdict cache', async () => {
    const spec = renamed(specs.compatible, 'log-line-probe');
    const c = new CompatClient(srv.address);
    await c.check({ payload: spec });
    await c.check({ payload: spec });
    c.close();
    const digest = `sha256:${createHash('sha256').update(spec).digest('hex').slice(0, 12)}`;
    await srv.waitForLog(new RegExp(`check payload:${digest} compatible [\\d.]+ ms cached`));
    const lines = srv.stderr().split('\n').filter((l) => l.includes(digest));
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^\\S+Z info check payload:${digest} compatible [\\d.]+ ms peer=127\\.0\\.0\\.1:\\d+$`)),
      expect.stringMatching(new RegExp(`^\\S+Z info check payload:${digest} compatible [\\d.]+ ms cached peer=127\\.0\\.0\\.1:\\d+$`)),
    ]);
    expect(srv.stderr()).toMatch(/info check payload:sha256:\w+ incompatible [\d.]+ ms/);
    expect(srv.stderr()).toMatch(/info check payload:sha256:\w+ error [\d.]+ ms peer=\S+ "payload: not valid JSON/);
  });

  it('SIGTERM: calls in flight complete, then exit 0 (within a deadline); new calls are refused', async () => {
    const s = await spawnServer([], env);
    others.push(s);
    const c = new CompatClient(s.address);
    // Distinct payloads (no cache hits): each is a full check, so the batch takes a while.
    const calls = Array.from({ length: 300 }, (_, i) => c.check({ payload: renamed(specs.incompatible, `inflight-${i}`) }));
    await s.waitForLog(/info check payload/);
    s.proc.kill('SIGTERM');
    const results = await Promise.allSettled(calls);
    const exit = await s.exited(8000); // rejects when the server is still running by then
    expect(exit.code).toBe(0);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(results.every((r) => r.status === 'fulfilled' && r.value.status === 'SUCCESS' && !r.value.compatible)).toBe(true);
    expect(s.stderr()).toMatch(/info SIGTERM received/);
    const drained = /info stopped after 300 check\(s\), (\d+) answered while draining\n/.exec(s.stderr());
    expect(drained).not.toBeNull();
    expect(Number(drained![1])).toBeGreaterThan(0); // calls in flight at SIGTERM were answered, not cut
    await expect(c.check({ payload: specs.compatible }, 2000)).rejects.toThrow(RemoteError);
    c.close();
  });
});

describe('compat serve: index rebuilds, unix socket, SIGINT', () => {
  it('rebuilds the index when an indexed directory changes, keeps serving meanwhile, and new verdicts follow', async () => {
    const libs = join(dir, 'site-lib');
    mkdirSync(libs);
    const s = await spawnServer(['--path', libs, '--poll-interval', '0.2', '--quiet'], env);
    others.push(s);
    const spec = JSON.stringify({
      schemaVersion: 1,
      kind: 'binary',
      name: 'site-app',
      platform: { os: 'linux', architecture: 'amd64' },
      binaries: [{ path: 'site-app', type: 'executable', linkage: 'dynamic', machine: 'x86_64', class: 64, interpreter: '/lib64/ld-linux-x86-64.so.2', needed: [{ soname: 'libsite.so.1', versions: [] }, { soname: 'libc.so.6', versions: [] }], runpath: [libs] }],
      attributes: {},
    });
    const before = await checkRemote(s.address, { payload: spec });
    expect([before.status, before.compatible]).toEqual(['SUCCESS', false]);
    expect(report(before).reasons[0]).toMatchObject({ kind: 'missing-library', soname: 'libsite.so.1' });
    const lib = ['/lib/x86_64-linux-gnu/libz.so.1', '/usr/lib/x86_64-linux-gnu/libz.so.1', '/lib64/libz.so.1'].find((p) => existsSync(p))!;
    copyFileSync(lib, join(libs, 'libsite.so.1'));
    await s.waitForLog(/info host index rebuilt: \d+ libraries, fingerprint [0-9a-f]+ \(was [0-9a-f]+\)/, 10000);
    const after = await checkRemote(s.address, { payload: spec });
    expect([after.status, after.compatible]).toEqual(['SUCCESS', true]);
    expect(report(after).host.fingerprint).not.toBe(report(before).host.fingerprint);
    expect(s.stderr()).not.toMatch(/info check /); // --quiet
    s.proc.kill('SIGINT');
    expect((await s.exited(8000)).code).toBe(0);
    expect(s.stderr()).toMatch(/info SIGINT received/);
  });

  it('rebuilds the index when ldconfig rewrites the loader cache (--ld-so-cache)', async () => {
    const ldconfig = ['/sbin/ldconfig', '/usr/sbin/ldconfig'].find((p) => existsSync(p));
    if (!ldconfig) throw new Error('no ldconfig (Debian\'s libc-bin has it): nothing to drive the loader cache with');
    const root = join(dir, 'ldc');
    mkdirSync(join(root, 'site'), { recursive: true });
    writeFileSync(join(root, 'ld.so.conf'), `${join(root, 'site')}\n`);
    const cache = join(root, 'ld.so.cache');
    // -X: no links touched anywhere; -C/-f: a cache of our own (the system's stays as it is).
    const runLdconfig = () => execFileSync(ldconfig, ['-X', '-C', cache, '-f', join(root, 'ld.so.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    runLdconfig();
    const s = await spawnServer(['--ld-so-cache', cache, '--poll-interval', '0.2', '--quiet'], env);
    others.push(s);
    const spec = JSON.stringify({
      schemaVersion: 1,
      kind: 'binary',
      name: 'cache-app',
      platform: { os: 'linux', architecture: 'amd64' },
      binaries: [{ path: 'cache-app', type: 'executable', linkage: 'dynamic', machine: 'x86_64', class: 64, interpreter: '/lib64/ld-linux-x86-64.so.2', needed: [{ soname: 'libsite2.so.1', versions: [] }, { soname: 'libc.so.6', versions: [] }] }],
      attributes: {},
    });
    const before = await checkRemote(s.address, { payload: spec });
    expect([before.status, before.compatible]).toEqual(['SUCCESS', false]);
    writeFileSync(join(root, 's.c'), 'int site2(void) { return 2; }\n');
    gcc(root, ['-shared', '-fPIC', '-Wl,-soname,libsite2.so.1', '-o', join(root, 'site', 'libsite2.so.1'), 's.c']);
    runLdconfig();
    await s.waitForLog(/info host index rebuilt/, 10000);
    const after = await checkRemote(s.address, { payload: spec });
    expect([after.status, after.compatible]).toEqual(['SUCCESS', true]);
    expect(JSON.parse(after.payload).binaries[0].libraries).toContainEqual({ soname: 'libsite2.so.1', path: join(root, 'site', 'libsite2.so.1'), from: 'host' });
    s.proc.kill('SIGTERM');
    expect((await s.exited(8000)).code).toBe(0);
  });

  it('listens on a unix socket, and removes a stale one left by a dead daemon', async () => {
    const sock = join(dir, 'run', 'compat.sock');
    mkdirSync(join(dir, 'run'));
    const first = await spawnServer(['--address', `unix://${sock}`], env);
    others.push(first);
    expect(first.address).toBe(`unix://${sock}`);
    first.proc.kill('SIGKILL');
    await first.exited(5000);
    expect(existsSync(sock)).toBe(true);
    const s = await spawnServer(['--address', `unix://${sock}`], env);
    others.push(s);
    expect(await checkHealth(s.address)).toBe('SERVING');
    const r = await checkRemote(s.address, { payload: specs.compatible });
    expect([r.status, r.compatible]).toEqual(['SUCCESS', true]);
    // A second daemon on the same live socket is refused with one line, exit 2.
    const dup = await spawnServer(['--address', `unix://${sock}`], env, 10000).catch((e: Error) => e);
    expect(dup).toBeInstanceOf(Error);
    expect((dup as Error).message).toMatch(/another server is listening there/);
    s.proc.kill('SIGTERM');
    expect((await s.exited(8000)).code).toBe(0);
  });

  it('a bad address or flag: one line, exit 2', async () => {
    const err = await spawnServer(['--address', 'localhost'], env, 10000).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/server exited \(2\)[\s\S]*compat: localhost: expected HOST:PORT/);
    const err2 = await spawnServer(['--poll-interval', 'soon'], env, 10000).catch((e: Error) => e);
    expect((err2 as Error).message).toMatch(/--poll-interval soon: expected a number of seconds/);
  });
});
