import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header, type HeaderData } from 'tar';
import { buildManifest, pushBytes, pushManifest, RemoteRepository } from '../../src/registry/index.js';
import { compat, tempDir } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const TITLE = 'org.opencontainers.image.title';
const UNPACK = 'io.deis.oras.content.unpack';
const TAR_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const PLAIN = 'application/vnd.oci.image.layer.v1.tar';

let reg: TestRegistry;
let xdg: string;
let root: string;
let home: string;
let out: string;
let elsewhere: string;
let tagCount = 0;
const BIN = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'bin', 'run.js');

interface TarEntry {
  path: string;
  type?: HeaderData['type'];
  body?: string;
  linkpath?: string;
  mode?: number;
}

/** A tar+gzip written header by header, so the test can say exactly what an attacker would put in it. */
function tarGz(entries: TarEntry[], corrupt?: (block: Buffer) => void): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const type = e.type ?? 'File';
    const header = new Header({ path: e.path, type, mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644), size: body.length, linkpath: e.linkpath, mtime: new Date(0), uid: 0, gid: 0 });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    corrupt?.(block);
    blocks.push(block);
    if (body.length) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

type Layer = { title: string; tar: Buffer } | { title: string; body: string };

/** Pushes an ORAS-style artifact to the real registry and returns its reference. */
async function pushArtifact(layers: Layer[]): Promise<string> {
  const repo = new RemoteRepository(`${reg.host}/evil/pull`, { plainHttp: true });
  const descs = [];
  for (const l of layers) {
    if ('tar' in l) descs.push(await pushBytes(repo, l.tar, TAR_GZIP, { annotations: { [TITLE]: l.title, [UNPACK]: 'true' } }));
    else descs.push(await pushBytes(repo, Buffer.from(l.body), PLAIN, { annotations: { [TITLE]: l.title } }));
  }
  await pushBytes(repo, Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
  const { bytes } = buildManifest({ artifactType: 'application/vnd.example.evil', layers: descs });
  const tag = `case${++tagCount}`;
  await pushManifest(repo, bytes, { reference: tag });
  return `${reg.host}/evil/pull:${tag}`;
}

function run(args: string[]) {
  return compat(args, {
    env: { HOME: home, XDG_DATA_HOME: join(xdg, 'data'), XDG_CACHE_HOME: join(xdg, 'cache'), XDG_CONFIG_HOME: join(xdg, 'config'), DOCKER_CONFIG: join(xdg, 'docker'), DBUS_SESSION_BUS_ADDRESS: '' },
  });
}

/** Everything under `dir`: type, mode, size, content digest or link target; what "unchanged" is compared by. */
function listing(dir: string, rel = ''): string[] {
  const rows: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const p = join(rel, name);
    const st = lstatSync(join(dir, p));
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) rows.push(`${p} link ${readlinkSync(join(dir, p))}`);
    else if (st.isDirectory()) rows.push(`${p} dir ${mode}`, ...listing(dir, p));
    else rows.push(`${p} file ${mode} ${st.size} ${st.ino} ${createHash('sha256').update(readFileSync(join(dir, p))).digest('hex')}`);
  }
  return rows;
}

beforeAll(async () => {
  reg = await startRegistry();
  xdg = tempDir();
});

afterAll(async () => {
  await reg?.dispose();
  rmSync(xdg, { recursive: true, force: true });
});

/** HOME holds only DIR; DIR holds a file and a link to a directory elsewhere: the victims. */
beforeEach(() => {
  root = tempDir();
  home = join(root, 'home');
  out = join(home, 'out');
  elsewhere = join(root, 'elsewhere');
  mkdirSync(out, { recursive: true });
  mkdirSync(elsewhere);
  writeFileSync(join(elsewhere, 'existing'), 'not yours\n');
  writeFileSync(join(home, '.profile'), 'mine\n');
  writeFileSync(join(out, 'keep.txt'), 'kept\n');
  symlinkSync(elsewhere, join(out, 'link'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** The refusal contract: exit 2, one line naming reference and entry, nothing outside DIR, DIR as it was, no debris. */
async function expectRefused(layers: Layer[], entry: string | RegExp): Promise<void> {
  const ref = await pushArtifact(layers);
  const before = listing(root);
  const r = run(['pull', '--plain-http', ref, '-o', out]);
  expect(r.stderr).toMatch(/^compat: /);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain(ref);
  if (typeof entry === 'string') expect(r.stderr).toContain(entry);
  else expect(r.stderr).toMatch(entry);
  expect(r.status).toBe(2);
  expect(existsSync(join(home, '.bashrc'))).toBe(false);
  expect(existsSync(join(elsewhere, 'target'))).toBe(false);
  expect(existsSync(join(root, 'pwned'))).toBe(false);
  expect(listing(root)).toEqual(before);
}

describe('pull -o DIR never writes outside DIR', () => {
  it("refuses the issue's archive: s4 -> . and s1 -> s4/.. in one tar, then a layer titled s1/.bashrc", async () => {
    const links = tarGz([
      { path: 's4', type: 'SymbolicLink', linkpath: '.' },
      { path: 's1', type: 'SymbolicLink', linkpath: 's4/..' },
    ]);
    await expectRefused([{ title: 'links', tar: links }, { title: 's1/.bashrc', body: 'pwned\n' }], /"s[14]"/);
  });

  it('refuses the same chain when each link sits under its own title: a layer never writes through a link the artifact made', async () => {
    await expectRefused(
      [
        { title: 's4', tar: tarGz([{ path: 's4', type: 'SymbolicLink', linkpath: '.' }]) },
        { title: 's1', tar: tarGz([{ path: 's1', type: 'SymbolicLink', linkpath: 's4/..' }]) },
        { title: 's1/.bashrc', body: 'pwned\n' },
      ],
      's1/.bashrc',
    );
  });

  it('refuses a link that is inside DIR by its text but outside on disk (t/up -> s4/../.. with t/s4 -> .)', async () => {
    const tar = tarGz([
      { path: 't', type: 'Directory' },
      { path: 't/s4', type: 'SymbolicLink', linkpath: '.' },
      { path: 't/up', type: 'SymbolicLink', linkpath: 's4/../..' },
    ]);
    await expectRefused([{ title: 't', tar }], 't/up');
  });

  it('refuses a title under a link already in DIR (link -> elsewhere, title link/target)', async () => {
    await expectRefused([{ title: 'link/target', body: 'pwned\n' }], 'link/target');
  });

  it('refuses a tar link that leads out through a link already in DIR', async () => {
    const tar = tarGz([{ path: 't2/l', type: 'SymbolicLink', linkpath: '../link/x' }]);
    await expectRefused([{ title: 't2', tar }], 't2/l');
  });

  it('refuses an archive link with an absolute target', async () => {
    await expectRefused([{ title: 'abs', tar: tarGz([{ path: 'abs/l', type: 'SymbolicLink', linkpath: root }]) }], 'abs/l');
  });

  // Built when each test runs: `root` is only known then.
  const entries: Array<[string, () => TarEntry[], () => string]> = [
    ['a hard link', () => [{ path: 'h/f', body: 'x' }, { path: 'h/hl', type: 'Link', linkpath: 'h/f' }], () => 'h/hl'],
    ['a hard link out of DIR', () => [{ path: 'h/hl', type: 'Link', linkpath: '../../elsewhere/existing' }], () => 'h/hl'],
    ['a character device', () => [{ path: 'h/null', type: 'CharacterDevice' }], () => 'h/null'],
    ['a FIFO', () => [{ path: 'h/fifo', type: 'FIFO' }], () => 'h/fifo'],
    ['a setuid file', () => [{ path: 'h/suid', body: 'x', mode: 0o4755 }], () => 'h/suid'],
    ['a setgid file', () => [{ path: 'h/sgid', body: 'x', mode: 0o2755 }], () => 'h/sgid'],
    ['an absolute path', () => [{ path: `${root}/pwned`, body: 'x' }], () => `${root}/pwned`],
    ['a path with ..', () => [{ path: 'h/../../pwned', body: 'x' }], () => 'h/../../pwned'],
    ['a path outside its title', () => [{ path: 'other/x', body: 'x' }], () => 'other/x'],
    ['the same file twice', () => [{ path: 'h/a', body: 'x' }, { path: 'h/a', body: 'y' }], () => 'h/a'],
    ['a file under a file', () => [{ path: 'h/a', body: 'x' }, { path: 'h/a/b', body: 'y' }], () => 'h/a/b'],
    ['an entry type compat does not write (sparse)', () => [{ path: 'h/sparse', type: 'SparseFile' }], () => 'h/sparse'],
  ];
  it.each(entries)('refuses an archive holding %s', async (_what, tarEntries, entry) => {
    await expectRefused([{ title: 'h', tar: tarGz(tarEntries()) }], entry());
  });

  it("turns node-tar's own refusal (a header checksum failure) into one line", async () => {
    const bad = tarGz([{ path: 'h/a', body: 'x' }], (block) => (block[0] = 'z'.charCodeAt(0)));
    await expectRefused([{ title: 'h', tar: bad }], /checksum|TAR_/);
  });

  it('refuses a truncated gzip', async () => {
    const tar = tarGz([{ path: 'h/a', body: 'x'.repeat(5000) }]);
    await expectRefused([{ title: 'h', tar: tar.subarray(0, tar.length - 20) }], /"h"/);
  });

  const titles: Array<[string, () => Layer[], () => string]> = [
    ['absolute', () => [{ title: `${root}/pwned`, body: 'x' }], () => `${root}/pwned`],
    ['with ..', () => [{ title: '../pwned', body: 'x' }], () => '../pwned'],
    ['with .. inside', () => [{ title: 'a/../../pwned', body: 'x' }], () => 'a/../../pwned'],
    ['duplicated', () => [{ title: 'same.txt', body: 'x' }, { title: 'same.txt', body: 'y' }], () => 'same.txt'],
    ['duplicated after normalisation', () => [{ title: 'd/same.txt', body: 'x' }, { title: 'd//./same.txt', body: 'y' }], () => 'same.txt'],
    ['naming DIR itself', () => [{ title: '.', body: 'x' }], () => '"."'],
  ];
  it.each(titles)('refuses a title %s', async (_what, layers, entry) => {
    await expectRefused(layers(), entry());
  });

  it('leaves no DIR behind when DIR did not exist and the artifact is refused', async () => {
    const tar = tarGz([
      { path: 't/s4', type: 'SymbolicLink', linkpath: '.' },
      { path: 't/up', type: 'SymbolicLink', linkpath: 's4/../..' },
    ]);
    const ref = await pushArtifact([{ title: 'ok.txt', body: 'x' }, { title: 't', tar }]);
    const fresh = join(home, 'new', 'deeper');
    const r = run(['pull', '--plain-http', ref, '-o', fresh]);
    expect(r.status).toBe(2);
    expect(existsSync(join(home, 'new'))).toBe(false);
    expect(readdirSync(home).sort()).toEqual(['.profile', 'out']);
  });
});

describe('pull -o DIR still writes what it should', () => {
  it('merges a tar+gzip directory and titled files into an existing DIR, replacing same-named files by rename', () => {
    const src = join(root, 'src');
    mkdirSync(join(src, 'tree/sub'), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'alpha new\n');
    writeFileSync(join(src, 'tree/sub/b.txt'), 'beta\n');
    writeFileSync(join(src, 'tree/run.sh'), '#!/bin/sh\n');
    chmodSync(join(src, 'tree/run.sh'), 0o755);
    symlinkSync('b.txt', join(src, 'tree/sub/b-link'));
    const ref = `${reg.host}/good/files:v1`;
    expect(run(['push', '--plain-http', ref, join(src, 'a.txt'), join(src, 'tree')]).status).toBe(0);

    writeFileSync(join(out, 'a.txt'), 'alpha old\n');
    linkSync(join(out, 'a.txt'), join(out, 'a-old.txt'));
    mkdirSync(join(out, 'tree'));
    writeFileSync(join(out, 'tree/mine.txt'), 'mine\n');

    const r = run(['pull', '--plain-http', ref, '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('alpha new\n');
    // Replaced by rename, not written in place: another name for the old file still reads the old bytes.
    expect(readFileSync(join(out, 'a-old.txt'), 'utf8')).toBe('alpha old\n');
    expect(readFileSync(join(out, 'tree/sub/b.txt'), 'utf8')).toBe('beta\n');
    expect(readlinkSync(join(out, 'tree/sub/b-link'))).toBe('b.txt');
    expect(statSync(join(out, 'tree/run.sh')).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(out, 'tree/mine.txt'), 'utf8')).toBe('mine\n');
    expect(readFileSync(join(out, 'keep.txt'), 'utf8')).toBe('kept\n');
    expect(readlinkSync(join(out, 'link'))).toBe(elsewhere);
    expect(readdirSync(elsewhere)).toEqual(['existing']);
    expect(readdirSync(home).sort()).toEqual(['.profile', 'out']);
    expect(readdirSync(out).sort()).toEqual(['a-old.txt', 'a.txt', 'keep.txt', 'link', 'tree']);

    // Pulling again into the same DIR gives the same tree (links and files are replaced, not refused).
    const again = run(['pull', '--plain-http', ref, '-o', out]);
    expect(again.status).toBe(0);
    expect(readlinkSync(join(out, 'tree/sub/b-link'))).toBe('b.txt');
    expect(readdirSync(home).sort()).toEqual(['.profile', 'out']);

    // And into a DIR that does not exist yet.
    const fresh = join(home, 'new', 'deeper');
    expect(run(['pull', '--plain-http', ref, '-o', fresh]).status).toBe(0);
    expect(readFileSync(join(fresh, 'tree/sub/b.txt'), 'utf8')).toBe('beta\n');
    expect(readdirSync(fresh).sort()).toEqual(['a.txt', 'tree']);
    expect(readdirSync(join(home, 'new'))).toEqual(['deeper']);
  });
});

describe('pull -o a directory that cannot be made', () => {
  it('exits 2 at once with one line for /proc/nope', async () => {
    const ref = await pushArtifact([{ title: 'ok.txt', body: 'x' }]);
    // A deadline: a pull that spins must fail this test, not hang it.
    const r = spawnSync(process.execPath, [BIN, 'pull', '--plain-http', ref, '-o', '/proc/nope'], {
      encoding: 'utf8',
      timeout: 20000,
      env: { ...process.env, HOME: home, XDG_DATA_HOME: join(xdg, 'data'), XDG_CACHE_HOME: join(xdg, 'cache'), XDG_CONFIG_HOME: join(xdg, 'config') },
    });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^compat: .*\/proc\/nope/);
  });
});
