// The daemon's bounds: verdict-cache bytes, idle and surplus connections, upstream work of a call
// whose client gave up.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { CompatClient, RemoteError } from '../../src/service/client.js';
import { CompatServer } from '../../src/service/server.js';
import { VerdictCache } from '../../src/service/verdict-cache.js';
import { loadOrScan } from '../../src/host/host-index.js';
import { tempDir } from '../helpers/fixtures.js';
import { startFakeServer } from '../helpers/registry-fault.js';
import { ensureServeBuilt } from './server-process.js';
import { makeSpecs, renamed, type SpecFixtures } from './specs.js';

let dir: string;
let indexFile: string;
let specs: SpecFixtures;

beforeAll(() => {
  ensureServeBuilt();
  dir = tempDir('compat-bounds-');
  indexFile = join(dir, 'host-index.json');
  loadOrScan({ indexFile });
  specs = makeSpecs({ XDG_CACHE_HOME: join(dir, 'cache') });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An incompatible spec with `n` missing libraries: its report (the verdict's payload) grows with n. */
function bigSpec(n: number, name: string): string {
  const spec = JSON.parse(specs.compatible) as { name?: string; binaries: Array<{ needed: Array<{ soname: string; versions: string[] }> }> };
  for (let i = 0; i < n; i++) spec.binaries[0]!.needed.push({ soname: `libcompat-bounds-missing-${i}.so.1`, versions: [] });
  return renamed(JSON.stringify(spec), name);
}

describe('VerdictCache bounded by bytes', () => {
  const verdict = (chars: number) => ({ compatible: false, payload: 'x'.repeat(chars) });

  it('evicts the least recently used verdicts to stay under its byte bound', () => {
    const c = new VerdictCache(1000, 100_000);
    for (let i = 0; i < 50; i++) {
      c.set(`sha256:${i}`, 'f', verdict(10_000));
      expect(c.bytes).toBeLessThanOrEqual(100_000);
    }
    expect(c.size).toBeGreaterThan(0);
    expect(c.size).toBeLessThan(50);
    expect(c.get('sha256:49', 'f')).toBeDefined();
    expect(c.get('sha256:0', 'f')).toBeUndefined();
  });

  it('does not cache a verdict larger than the whole bound, and keeps the others', () => {
    const c = new VerdictCache(1000, 100_000);
    c.set('sha256:small', 'f', verdict(100));
    const before = c.bytes;
    c.set('sha256:huge', 'f', verdict(200_000));
    expect(c.get('sha256:huge', 'f')).toBeUndefined();
    expect(c.get('sha256:small', 'f')?.payload).toHaveLength(100);
    expect(c.bytes).toBe(before);
  });

  it('still bounds entries, drops other fingerprints, and refuses a bad bound', () => {
    const c = new VerdictCache(2, 1_000_000);
    for (const d of ['a', 'b', 'c']) c.set(d, 'f1', verdict(10));
    expect(c.size).toBe(2);
    c.set('d', 'f2', verdict(10));
    c.retainFingerprint('f2');
    expect([c.size, c.get('d', 'f2')?.payload.length]).toEqual([1, 10]);
    expect(() => new VerdictCache(10, -1)).toThrow(RangeError);
    expect(() => new VerdictCache(10, 1.5)).toThrow(RangeError);
  });
});

describe('the daemon keeps its verdict cache under --cache-bytes', () => {
  it('many big verdicts through the real server: the cache never holds more than the bound', async () => {
    const bound = 512 * 1024;
    const server = await CompatServer.start({ address: '127.0.0.1:0', indexFile, worker: false, cacheEntries: 10000, cacheBytes: bound });
    const client = new CompatClient(server.address);
    try {
      let largest = 0;
      for (let i = 0; i < 24; i++) {
        const r = await client.check({ payload: bigSpec(600, `big-${i}`) });
        expect([r.status, r.compatible]).toEqual(['SUCCESS', false]);
        largest = Math.max(largest, r.payload.length);
        expect(server.checker.cache.bytes).toBeLessThanOrEqual(bound);
      }
      // The verdicts were big enough that an entry-bounded cache would have gone well past the bound.
      expect(largest * 24 * 2).toBeGreaterThan(3 * bound);
      expect(server.checker.cache.size).toBeGreaterThan(0);
      expect(server.checker.cache.size).toBeLessThan(24);
    } finally {
      client.close();
      server.kill();
    }
  });
});

/** Resolves when `what` happens, rejects after `ms` (a deadline, not a sleep). */
function within<T>(ms: number, label: string, what: (done: (v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${label}: not within ${ms} ms`)), ms);
    what((v) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}

describe('a call whose client gave up cancels its registry fetch', () => {
  it('the registry request is aborted once the deadline passes, long before any registry timeout', async () => {
    process.env.COMPAT_STORE = join(dir, 'store');
    let upstream: Socket | undefined;
    let sawRequest: () => void = () => {};
    const requested = new Promise<void>((r) => (sawRequest = r));
    // A registry that accepts the manifest request and never answers it.
    const registry = await startFakeServer((req) => {
      upstream = req.socket;
      sawRequest();
    });
    let checkLogged: (line: string) => void = () => {};
    const logged = new Promise<string>((r) => (checkLogged = r));
    const log = (line: string) => line.includes(' check ') && checkLogged(line);
    const server = await CompatServer.start({ address: '127.0.0.1:0', indexFile, worker: false, registry: { plainHttp: true }, allowRegistries: [registry.host], log });
    const client = new CompatClient(server.address);
    try {
      const call = client.check({ uri: `${registry.host}/compat/stuck:1` }, 2000).catch((e: unknown) => e);
      await within(10_000, 'the manifest request', (done) => void requested.then(done));
      const closed = within(10_000, 'the upstream socket closing', (done) => (upstream!.destroyed ? done(undefined) : upstream!.once('close', () => done(undefined))));
      const err = await call;
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).message).toMatch(/deadline/);
      await closed; // got's own timeouts are 30 s (connect) and 120 s (socket): this was the cancellation
      expect(registry.requests.filter((r) => r.url.includes('/manifests/'))).toHaveLength(1); // and no retry
      // The check itself ended then too, instead of waiting on the registry.
      expect(await within(10_000, 'the check to end', (done) => void logged.then(done))).toMatch(/stuck:1 error .*aborted/);
    } finally {
      client.close();
      server.kill();
      await registry.close();
      delete process.env.COMPAT_STORE;
    }
  });
});

describe('a forced stop cuts the calls still open', () => {
  it('a call stuck on its registry fails at once with UNAVAILABLE, not at its own deadline', async () => {
    let started: () => void = () => {};
    const inFetch = new Promise<void>((r) => (started = r));
    const server = await CompatServer.start({
      address: '127.0.0.1:0',
      indexFile,
      worker: false,
      allowRegistries: ['registry.example'],
      fetchSpec: () => {
        started();
        return new Promise(() => {});
      },
    });
    const client = new CompatClient(server.address);
    try {
      const stuck = client.check({ uri: 'registry.example/stuck:1' }, 120_000).catch((e: unknown) => e);
      await within(10_000, 'the call reaching the fetch', (done) => void inFetch.then(done));
      expect(await server.stop(200)).toEqual({ forced: true });
      const err = await within(10_000, 'the stuck call failing', (done) => void stuck.then(done));
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).message).toMatch(/unavailable/);
    } finally {
      client.close();
      server.kill();
    }
  });
});
