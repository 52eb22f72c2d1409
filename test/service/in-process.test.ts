// The daemon's parts in-process: the checker, the verdict cache, the index watcher, and the gRPC
// server driven without the CLI (a fetchSpec that waits makes "in flight" deterministic).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Checker } from '../../src/service/checker.js';
import { checkHealth, checkRemote, checkRemoteReport, CompatClient, RemoteCheckError, RemoteError } from '../../src/service/client.js';
import { IndexWatcher } from '../../src/service/index-watcher.js';
import { PROTO_PATH } from '../../src/service/proto.js';
import { CompatServer, parseAddress } from '../../src/service/server.js';
import { VerdictCache } from '../../src/service/verdict-cache.js';
import { loadOrScan, type HostIndex } from '../../src/host/host-index.js';
import { tempDir } from '../helpers/fixtures.js';
import { ensureServeBuilt } from './server-process.js';
import { makeSpecs, renamed, type SpecFixtures } from './specs.js';

let dir: string;
let indexFile: string;
let index: HostIndex;
let specs: SpecFixtures;

beforeAll(() => {
  ensureServeBuilt();
  dir = tempDir('compat-service-');
  indexFile = join(dir, 'host-index.json');
  index = loadOrScan({ indexFile }).index;
  specs = makeSpecs({ XDG_CACHE_HOME: join(dir, 'cache') });
});

describe('the checked-in contract', () => {
  it('is exactly the seed prototype contract', () => {
    const def = protoLoader.loadSync(PROTO_PATH, { keepCase: true });
    const svc = def['convergedcomputing.org.grpc.v1.CompatibilityService'] as protoLoader.ServiceDefinition;
    expect(Object.keys(svc)).toEqual(['CheckCompatibility']);
    const m = svc.CheckCompatibility!;
    expect([m.path, m.requestStream, m.responseStream]).toEqual(['/convergedcomputing.org.grpc.v1.CompatibilityService/CheckCompatibility', false, false]);
    const req = def['convergedcomputing.org.grpc.v1.CompatRequest'] as protoLoader.MessageTypeDefinition<object, object>;
    const res = def['convergedcomputing.org.grpc.v1.Response'] as protoLoader.MessageTypeDefinition<object, object>;
    const fields = (t: protoLoader.MessageTypeDefinition<object, object>) => (t.type as { field: Array<{ name: string; number: number; type: string }> }).field.map((f) => [f.name, f.number, f.type]);
    expect(fields(req)).toEqual([
      ['payload', 1, 'TYPE_STRING'],
      ['uri', 2, 'TYPE_STRING'],
    ]);
    expect(fields(res)).toEqual([
      ['payload', 1, 'TYPE_STRING'],
      ['compatible', 2, 'TYPE_BOOL'],
      ['status', 3, 'TYPE_ENUM'],
    ]);
    const en = (res.type as { enumType: Array<{ name: string; value: Array<{ name: string; number: number }> }> }).enumType[0]!;
    expect(en.name).toBe('ResultType');
    expect(en.value.map((v) => [v.name, v.number])).toEqual([
      ['UNSPECIFIED', 0],
      ['SUCCESS', 1],
      ['ERROR', 2],
      ['DENIED', 3],
    ]);
  });
});

describe('VerdictCache', () => {
  it('is a bounded LRU keyed by (digest, fingerprint)', () => {
    const c = new VerdictCache(2);
    c.set('a', 'f1', { compatible: true, payload: 'A' });
    c.set('b', 'f1', { compatible: false, payload: 'B' });
    expect(c.get('a', 'f1')?.payload).toBe('A'); // a is now the most recent
    c.set('c', 'f1', { compatible: true, payload: 'C' }); // evicts b
    expect(c.size).toBe(2);
    expect(c.get('b', 'f1')).toBeUndefined();
    expect(c.get('a', 'f2')).toBeUndefined(); // another index: another verdict
    expect([c.hits, c.misses]).toEqual([1, 2]);
    c.set('a', 'f2', { compatible: false, payload: 'A2' });
    c.retainFingerprint('f2');
    expect(c.size).toBe(1);
    expect(c.get('a', 'f2')?.payload).toBe('A2');
    const none = new VerdictCache(0);
    none.set('a', 'f', { compatible: true, payload: '' });
    expect(none.size).toBe(0);
    expect(() => new VerdictCache(-1)).toThrow(RangeError);
  });
});

describe('Checker', () => {
  const checker = () => new Checker({ index: () => index, cacheEntries: 100 });

  it('checks a payload, then answers the same payload from the cache', async () => {
    const c = checker();
    const a = await c.check({ payload: specs.compatible });
    expect([a.status, a.compatible, a.cached]).toEqual(['SUCCESS', true, false]);
    expect(a.subject).toMatch(/^payload:sha256:[0-9a-f]{12}$/);
    const b = await c.check({ payload: specs.compatible });
    expect([b.status, b.compatible, b.cached, b.payload]).toEqual(['SUCCESS', true, true, a.payload]);
    const bad = await c.check({ payload: specs.incompatible });
    expect([bad.status, bad.compatible]).toEqual(['SUCCESS', false]);
    expect(c.cache.size).toBe(2);
  });

  it('turns every kind of junk into ERROR, and never caches it', async () => {
    const c = checker();
    for (const payload of ['{', 'null', '[]', '{"schemaVersion":1}', '\u0000']) {
      const r = await c.check({ payload });
      expect([r.status, r.compatible, r.internal]).toEqual(['ERROR', false, undefined]);
      expect(r.payload).toBe(r.error);
    }
    // Not even strings (a caller bypassing the types): an empty request, not a crash.
    const r = await c.check({ payload: 42 as unknown as string, uri: null as unknown as string });
    expect([r.status, r.payload]).toEqual(['ERROR', 'empty request: set payload to a compat spec (JSON) or uri to a registry reference']);
    expect(c.cache.size).toBe(0);
  });

  it('a uri: the fetched text is checked and cached by the artifact digest', async () => {
    let fetched = 0;
    const c = new Checker({
      index: () => index,
      fetchSpec: async (uri, flags) => {
        fetched++;
        expect(uri).toBe('registry.example:5000/app:compat');
        expect(flags).toEqual({ plainHttp: true });
        return { text: specs.incompatible, digest: 'sha256:0123' };
      },
      registry: { plainHttp: true },
    });
    const a = await c.check({ uri: 'registry.example:5000/app:compat' });
    expect([a.status, a.compatible, a.cached, a.subject]).toEqual(['SUCCESS', false, false, 'registry.example:5000/app:compat']);
    expect(JSON.parse(a.payload).reasons[0]).toMatchObject({ kind: 'missing-library', class: 'soname', soname: specs.missingSoname });
    const b = await c.check({ uri: 'registry.example:5000/app:compat' });
    expect(b.cached).toBe(true);
    expect(fetched).toBe(2); // the reference is resolved each time; only the check is cached
  });

  it('a registry failure is an ERROR naming the uri', async () => {
    const c = new Checker({
      index: () => index,
      fetchSpec: async () => {
        throw Object.assign(new Error('manifest unknown'), { code: 'MANIFEST_UNKNOWN' });
      },
    });
    const r = await c.check({ uri: 'localhost:5000/nope:1' });
    expect([r.status, r.payload, r.internal]).toEqual(['ERROR', 'localhost:5000/nope:1: manifest unknown', undefined]);
  });

  it('the real fetchSpecText: a reference it cannot parse is an ERROR naming it', async () => {
    const r = await checker().check({ uri: 'not a reference' });
    expect([r.status, r.compatible]).toEqual(['ERROR', false]);
    expect(r.payload).toContain('not a reference');
  });

  it('a fault of its own (the index unavailable) is an internal ERROR, not a throw', async () => {
    const c = new Checker({
      index: () => {
        throw new Error('index gone');
      },
    });
    const r = await c.check({ payload: specs.compatible });
    expect([r.status, r.payload, r.internal]).toEqual(['ERROR', 'internal error: index gone', true]);
  });
});

describe('parseAddress', () => {
  it('takes HOST:PORT, [v6]:PORT and unix sockets; refuses the rest', () => {
    expect(parseAddress('127.0.0.1:50051')).toEqual({ bind: '127.0.0.1:50051' });
    expect(parseAddress('[::1]:0')).toEqual({ bind: '[::1]:0' });
    expect(parseAddress('unix:///run/compat.sock')).toEqual({ bind: 'unix:///run/compat.sock', unixPath: '/run/compat.sock' });
    expect(parseAddress('unix:rel.sock')).toEqual({ bind: 'unix:rel.sock', unixPath: 'rel.sock' });
    for (const bad of ['localhost', '127.0.0.1', ':50051', '1.2.3.4:99999', 'unix://', 'http://x:1']) expect(() => parseAddress(bad)).toThrow(/expected HOST:PORT|needs a path|out of range/);
  });
});

describe('IndexWatcher', () => {
  it('loads the index, stays put while it is fresh, rebuilds when it is not', async () => {
    const events: string[] = [];
    const w = new IndexWatcher({ indexFile, worker: false, onIndex: (e) => events.push(e.previous ? 'rebuilt' : e.how) });
    const first = await w.start();
    expect(w.current).toBe(first);
    expect(w.poll()).toBe(false); // fresh: nothing to do
    // A stale fingerprint (as after ldconfig or a new library) makes the next poll rebuild.
    (w as unknown as { index: HostIndex }).index = { ...first, fingerprint: 'stale' };
    expect(w.poll()).toBe(true);
    expect(w.poll()).toBe(false); // one rebuild at a time
    await w.rebuild();
    expect(w.current!.fingerprint).toBe(first.fingerprint);
    expect(w.rebuilds).toBe(1);
    expect(events).toEqual([expect.stringMatching(/^(loaded|scanned)$/), 'rebuilt']);
    w.stop();
  });

  it('builds in a worker thread from dist/ (what the daemon runs)', async () => {
    const { IndexWatcher: Built } = (await import(join(process.cwd(), 'dist/service/index-watcher.js'))) as typeof import('../../src/service/index-watcher.js');
    const w = new Built({ indexFile });
    expect(w.useWorker).toBe(true);
    const idx = await w.start();
    expect(idx.fingerprint).toBe(index.fingerprint);
    w.stop();
  });
});

describe('CompatServer in-process', () => {
  let server: CompatServer;
  let release: () => void = () => {};
  let fetchStarted: Promise<void>;
  let signalStarted: () => void;
  const logs: string[] = [];

  beforeAll(async () => {
    fetchStarted = new Promise((r) => (signalStarted = r));
    server = await CompatServer.start({
      address: '127.0.0.1:0',
      indexFile,
      worker: false,
      maxMessageBytes: 64 * 1024,
      allowRegistries: ['registry.example'],
      log: (l) => logs.push(l),
      // A registry that answers only when the test says so: a call stays in flight on purpose.
      fetchSpec: (uri) =>
        new Promise((resolve) => {
          signalStarted();
          release = () => resolve({ text: uri.endsWith(':ok') ? specs.compatible : specs.incompatible, digest: 'sha256:abcd' });
        }),
    });
  });

  afterAll(() => server?.kill());

  it('serves the contract and health on the port it bound', async () => {
    expect(server.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    expect(await checkHealth(server.address)).toBe('SERVING');
    const report = await checkRemoteReport(server.address, { payload: specs.compatible });
    expect(report.compatible).toBe(true);
    await expect(checkRemoteReport(server.address, { payload: '{' })).rejects.toThrow(RemoteCheckError);
    await expect(checkRemoteReport(server.address, { payload: '{' })).rejects.toThrow(/^payload: not valid JSON/);
    // With the caller's name for the spec, the message reads as the local check's would.
    await expect(checkRemoteReport(server.address, { payload: '{' }, { source: 'app.compat.json' })).rejects.toThrow(/^app\.compat\.json: not valid JSON/);
  });

  it('the message limit is configurable: a 64 KiB server refuses 100 KB and still serves', async () => {
    const err = (await checkRemote(server.address, { payload: renamed(specs.compatible, 'x'.repeat(100 * 1024)) }).catch((e: unknown) => e)) as RemoteError;
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.message).toMatch(/request refused as too large/);
    expect((await checkRemote(server.address, { payload: renamed(specs.compatible, 'x'.repeat(30 * 1024)) })).compatible).toBe(true);
  });

  it('many concurrent clients get the right verdicts', async () => {
    const clients = Array.from({ length: 8 }, () => new CompatClient(server.address));
    const results = await Promise.all(Array.from({ length: 400 }, (_, i) => clients[i % 8]!.check({ payload: i % 2 ? specs.compatible : specs.incompatible })));
    for (const c of clients) c.close();
    results.forEach((r, i) => expect([r.status, r.compatible]).toEqual(['SUCCESS', i % 2 === 1]));
  });

  it('stop(): a call in flight completes, new calls are refused', async () => {
    const client = new CompatClient(server.address);
    const inflight = client.check({ uri: 'registry.example/app:ok' });
    await fetchStarted;
    const stopped = server.stop(5000);
    await expect(checkHealth(server.address, '', 1000)).rejects.toThrow(RemoteError); // no new calls
    release();
    const r = await inflight;
    expect([r.status, r.compatible]).toEqual(['SUCCESS', true]);
    expect(await stopped).toEqual({ forced: false });
    expect(server.drained).toBe(1);
    client.close();
    expect(logs.join('\n')).toMatch(/info check registry\.example\/app:ok compatible [\d.]+ ms peer=/);
  });

  it('stop() cuts calls still open after the grace period', async () => {
    let hold: () => void = () => {};
    let arrived: () => void = () => {};
    const inFetch = new Promise<void>((r) => (arrived = r));
    const s = await CompatServer.start({
      address: '127.0.0.1:0',
      indexFile,
      worker: false,
      allowRegistries: ['registry.example'],
      fetchSpec: () =>
        new Promise((resolve) => {
          hold = () => resolve({ text: specs.compatible, digest: 'sha256:ef' });
          arrived();
        }),
    });
    const client = new CompatClient(s.address);
    const stuck = client.check({ uri: 'registry.example/stuck:1' }).catch((e: unknown) => e);
    await within(inFetch, 10_000, 'the call reaching fetchSpec');
    // The call can only end by being cut: its fetch is released after stop() has returned.
    expect(await within(s.stop(300), 10_000, 'stop(300)')).toEqual({ forced: true });
    expect(await stuck).toBeInstanceOf(RemoteError);
    hold();
    client.close();
  });
});

describe('the .proto location', () => {
  it('is manifests/compat.proto both from src/ (ts-jest) and from dist/ (the CLI)', async () => {
    const built = (await import(join(process.cwd(), 'dist/service/proto.js'))) as typeof import('../../src/service/proto.js');
    expect(built.PROTO_PATH).toBe(PROTO_PATH);
    expect(PROTO_PATH).toBe(join(process.cwd(), 'manifests', 'compat.proto'));
    expect(readFileSync(PROTO_PATH, 'utf8')).toContain('service CompatibilityService');
  });
});

/** `p`, or a failure naming `what` once `ms` have passed: a deadline on an event, not a sleep. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
