// `compat serve --labels`: the daemon keeps the NFD feature file in step with the node's index,
// and keeps pushing its expiry forward while it runs.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, watch, type FSWatcher, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compat, tempDir } from '../helpers/fixtures.js';
import { ensureServeBuilt, type ServerProcess, spawnServer } from './server-process.js';

let dir: string;
let env: Record<string, string>;
let libs: string;
let layout: string;
const servers: ServerProcess[] = [];

beforeAll(() => {
  ensureServeBuilt();
  dir = tempDir('compat-serve-labels-');
  env = { XDG_CACHE_HOME: join(dir, 'cache'), XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
  libs = join(dir, 'site-lib');
  mkdirSync(libs);
  layout = join(dir, 'layout');
  expect(compat(['gen', '/usr/bin/xz', '-o', join(dir, 'xz.json')]).status).toBe(0);
  // An application needing a library the node does not have yet.
  const site = {
    schemaVersion: 1,
    kind: 'binary',
    name: 'site-app',
    platform: { os: 'linux', architecture: 'amd64' },
    binaries: [{ path: 'site-app', type: 'executable', linkage: 'dynamic', machine: 'x86_64', class: 64, interpreter: '/lib64/ld-linux-x86-64.so.2', needed: [{ soname: 'libsite.so.1', versions: [] }, { soname: 'libc.so.6', versions: [] }], runpath: [libs] }],
    attributes: {},
  };
  writeFileSync(join(dir, 'site.json'), JSON.stringify(site));
  for (const [tag, file] of [['xz', 'xz.json'], ['site', 'site.json']]) {
    const r = compat(['push', '--oci-layout', `${layout}:${tag}`, join(dir, file)], { env });
    expect(r.stderr).toBe('');
  }
});

afterAll(() => {
  for (const s of servers) s.kill();
  rmSync(dir, { recursive: true, force: true });
});

const EXPIRY = /^# \+expiry-time=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\n/;
const expiryOf = (text: string) => Date.parse(EXPIRY.exec(text)?.[1] ?? 'none');

/** Watches a directory: every name that appeared in it, and a wait for the file to read as wanted. */
function watchDir(d: string) {
  const seen = new Set<string>();
  let wake: Array<() => void> = [];
  const w: FSWatcher = watch(d, (_event, name) => {
    if (name) seen.add(name.toString());
    const f = wake;
    wake = [];
    for (const g of f) g();
  });
  const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  /** Resolves with the file's text once `ok(text)`, checked now and after every change; rejects after `ms`. */
  const until = (file: string, ok: (text: string) => boolean, ms: number, label: string) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label}: not within ${ms} ms; file:\n${read(file)}`)), ms);
      const check = () => {
        const text = read(file);
        if (ok(text)) {
          clearTimeout(timer);
          resolve(text);
        } else wake.push(check);
      };
      check();
    });
  return { seen, until, close: () => w.close() };
}

describe('compat serve --labels', () => {
  it('writes the labels before it serves and rewrites them before they expire, always through a hidden temp file', async () => {
    const features = join(dir, 'refresh.d');
    mkdirSync(features);
    const file = join(features, 'compat');
    const watcher = watchDir(features);
    try {
      const srv = await spawnServer(['--oci-layout', '--labels', `${layout}:xz`, '--labels', `${layout}:site`, '--labels-file', file, '--labels-expiry', '4s', '--quiet'], env);
      servers.push(srv);
      // Written before the ready line: the expiry first, then one label per artifact.
      const first = readFileSync(file, 'utf8');
      expect(first).toMatch(EXPIRY);
      expect(first).toMatch(/^compat\.feature\.node\.kubernetes\.io\/[A-Za-z0-9._-]+\.xz=true$/m);
      expect(first).toMatch(/\.site=false$/m);
      // Rewritten before it lapses, twice, each time with a later expiry.
      const e2 = expiryOf(await watcher.until(file, (t) => expiryOf(t) > expiryOf(first), 10_000, 'the expiry being refreshed'));
      await watcher.until(file, (t) => expiryOf(t) > e2, 10_000, 'the expiry being refreshed again');
      const names = [...watcher.seen];
      expect(names.filter((n) => n !== 'compat' && !n.startsWith('.'))).toEqual([]);
      expect(names.filter((n) => n.startsWith('.compat.')).length).toBeGreaterThanOrEqual(2);
      srv.proc.kill('SIGTERM');
      expect((await srv.exited(8000)).code).toBe(0);
      expect(readdirSync(features)).toEqual(['compat']);
    } finally {
      watcher.close();
    }
  });

  it('rewrites the labels when the host index changes', async () => {
    const features = join(dir, 'features.d');
    mkdirSync(features);
    const file = join(features, 'compat');
    const watcher = watchDir(features);
    try {
      // An expiry of an hour: the next refresh is half an hour away, so only the new index rewrites the file.
      const srv = await spawnServer(['--oci-layout', '--labels', `${layout}:xz`, '--labels', `${layout}:site`, '--labels-file', file, '--labels-expiry', '1h', '--path', libs, '--poll-interval', '0.2', '--quiet'], env);
      servers.push(srv);
      expect(readFileSync(file, 'utf8')).toMatch(/\.site=false$/m);
      // The node gains the library: the index is rebuilt and the label follows.
      const lib = ['/lib/x86_64-linux-gnu/libz.so.1', '/usr/lib/x86_64-linux-gnu/libz.so.1', '/lib64/libz.so.1'].find((p) => existsSync(p))!;
      copyFileSync(lib, join(libs, 'libsite.so.1'));
      const after = await watcher.until(file, (t) => /\.site=true$/m.test(t), 15_000, 'the labels following the new index');
      expect(after).toMatch(EXPIRY);
      expect(after).toMatch(/\.xz=true$/m);
      await srv.waitForLog(/info labels written to .*compat: 2 artifact\(s\), 2 compatible/, 10_000);
      expect(srv.stderr()).toMatch(/info labels written to .*compat: 2 artifact\(s\), 1 compatible/);
      // Every write went through a hidden temp file: nfd-worker could only ever read a whole file.
      const names = [...watcher.seen];
      expect(names.filter((n) => n !== 'compat' && !n.startsWith('.'))).toEqual([]);
      expect(names.filter((n) => n.startsWith('.compat.')).length).toBeGreaterThanOrEqual(2);
      srv.proc.kill('SIGTERM');
      expect((await srv.exited(8000)).code).toBe(0);
      expect(readdirSync(features)).toEqual(['compat']);
    } finally {
      watcher.close();
    }
  });

  it('an artifact it cannot check at start: one line naming it, exit 2, no file', async () => {
    const file = join(dir, 'none.d', 'compat');
    const err = await spawnServer(['--oci-layout', '--labels', `${layout}:missing`, '--labels-file', file], env, 15000).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/server exited \(2\)[\s\S]*compat: .*layout:missing/);
    expect(existsSync(file)).toBe(false);
    const bad = await spawnServer(['--labels', `${layout}:xz`, '--labels-expiry', 'later'], env, 15000).catch((e: Error) => e);
    expect((bad as Error).message).toMatch(/--labels-expiry later: expected a duration/);
  });
});
