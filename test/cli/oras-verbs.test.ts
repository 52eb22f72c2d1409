import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildManifest, EMPTY_DESCRIPTOR, EMPTY_JSON, OciLayout, pushBytes, pushManifest, RemoteRepository } from '../../src/registry/index.js';
import { compat, expectOneLineError, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

/** The push, attach, discover, list and pull verbs as ORAS users reach for them, against the real registry and OCI layouts. */

let reg: TestRegistry;
let dir: string;
let env: Record<string, string>;
let host: string;
const plain = ['--plain-http'];
const TITLE = 'org.opencontainers.image.title';
const COMPAT = 'application/vnd.compspec.compat.v1';
const SPEC_LAYER = 'application/vnd.compspec.compat.spec.v1+json';
const NFD = 'application/vnd.nfd.image-compatibility.v1alpha1';

function run(args: string[], cwd = dir) {
  return compat(args, { env, cwd });
}

function rawManifest(ref: string): { artifactType?: string; annotations?: Record<string, string>; config: { mediaType: string }; layers: Array<{ mediaType: string; digest: string; annotations?: Record<string, string> }>; subject?: { digest: string } } {
  return JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' }));
}

function tagsOf(repo: string): string[] {
  return JSON.parse(execFileSync('skopeo', ['list-tags', '--tls-verify=false', `docker://${repo}`], { encoding: 'utf8' })).Tags.sort();
}

beforeAll(async () => {
  reg = await startRegistry();
  host = reg.host;
  dir = tempDir();
  env = isolatedEnv(dir);
  expect(compat(['gen', '/usr/bin/xz', '-o', join(dir, 'xz.json')]).status).toBe(0);
  mkdirSync(join(dir, 'docs/deep'), { recursive: true });
  writeFileSync(join(dir, 'docs/hi.txt'), 'hello\n');
  writeFileSync(join(dir, 'docs/deep/x.txt'), 'deep\n');
  writeFileSync(join(dir, 'nfd.yaml'), 'version: v1alpha1\ncompatibilities: []\n');
  writeFileSync(join(dir, 'annotations.json'), JSON.stringify({ $manifest: { 'org.example.owner': 'hpc' }, 'docs/hi.txt': { 'org.example.lang': 'en' } }));
});

afterAll(async () => {
  await reg?.dispose();
});

describe('push', () => {
  it('REPO:a,b tags one manifest several times, as skopeo sees it; the same for an OCI layout', () => {
    const r = run(['push', ...plain, `${host}/multi/tags:a,b,c`, 'docs/hi.txt']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(tagsOf(`${host}/multi/tags`)).toEqual(['a', 'b', 'c']);
    const raws = ['a', 'b', 'c'].map((t) => execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/multi/tags:${t}`], { encoding: 'utf8' }));
    expect(new Set(raws).size).toBe(1);
    const layout = join(dir, 'multi-layout');
    expect(run(['push', '--oci-layout', `${layout}:x,y`, 'xz.json']).status).toBe(0);
    const x = execFileSync('skopeo', ['inspect', '--raw', `oci:${layout}:x`], { encoding: 'utf8' });
    expect(execFileSync('skopeo', ['inspect', '--raw', `oci:${layout}:y`], { encoding: 'utf8' })).toBe(x);
  });

  it('FILE:MEDIATYPE sets the layer type; titles keep the relative path typed', () => {
    expect(run(['push', ...plain, `${host}/files/typed:v1`, 'docs/hi.txt:text/plain', './docs/deep/x.txt']).status).toBe(0);
    const m = rawManifest(`${host}/files/typed:v1`);
    expect(m.layers.map((l) => [l.annotations?.[TITLE], l.mediaType])).toEqual([
      ['docs/hi.txt', 'text/plain'],
      ['docs/deep/x.txt', 'application/vnd.oci.image.layer.v1.tar'],
    ]);
    const out = join(dir, 'typed-out');
    const p = run(['pull', ...plain, `${host}/files/typed:v1`, '-o', out]);
    expect(p.status).toBe(0);
    expect(readFileSync(join(out, 'docs/hi.txt'), 'utf8')).toBe('hello\n');
    expect(readFileSync(join(out, 'docs/deep/x.txt'), 'utf8')).toBe('deep\n');
  });

  it('refuses two files with the same title', () => {
    expectOneLineError(run(['push', ...plain, `${host}/files/dup:v1`, 'docs/hi.txt', './docs/hi.txt']), /docs\/hi\.txt.*(same title|twice)/);
    const other = join(dir, 'other');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'hi.txt'), 'other\n');
    expectOneLineError(run(['push', ...plain, `${host}/files/dup:v1`, join(dir, 'docs/hi.txt'), join(other, 'hi.txt')]), /hi\.txt.*(same title|twice)/);
    expect(() => rawManifest(`${host}/files/dup:v1`)).toThrow();
  });

  it('-a and --annotation-file (ORAS format) annotate the manifest and the named files', () => {
    const r = run(['push', ...plain, `${host}/files/ann:v1`, '-a', 'org.example.k=v', '--annotation-file', 'annotations.json', 'docs/hi.txt']);
    expect(r.stderr).toBe('');
    const m = rawManifest(`${host}/files/ann:v1`);
    expect(m.annotations).toMatchObject({ 'org.example.k': 'v', 'org.example.owner': 'hpc' });
    expect(m.layers[0]!.annotations).toMatchObject({ [TITLE]: 'docs/hi.txt', 'org.example.lang': 'en' });
    expectOneLineError(run(['push', ...plain, `${host}/files/ann:v2`, '--annotation-file', 'annotations.json', 'nfd.yaml']), /annotations\.json.*docs\/hi\.txt/);
  });

  it('annotations are honoured for a spec too, and --artifact-type on a spec is an error', () => {
    writeFileSync(join(dir, 'spec-annotations.json'), JSON.stringify({ $manifest: { 'org.example.owner': 'hpc' }, 'xz.json': { 'org.example.layer': 'spec' } }));
    const r = run(['push', ...plain, `${host}/apps/xz:ann`, '-a', 'org.example.k=v', '--annotation-file', 'spec-annotations.json', 'xz.json', '--json']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).kind).toBe('compat');
    const m = rawManifest(`${host}/apps/xz:ann`);
    expect(m.artifactType).toBe(COMPAT);
    expect(m.annotations).toMatchObject({ 'org.example.k': 'v', 'org.example.owner': 'hpc', 'io.compspec.compat.platform': 'linux/amd64' });
    expect(m.layers[0]!.annotations).toMatchObject({ 'org.example.layer': 'spec' });
    expect([0, 1]).toContain(run(['check', ...plain, `${host}/apps/xz:ann`]).status);
    expectOneLineError(run(['push', ...plain, `${host}/apps/xz:typed`, 'xz.json', '--artifact-type', 'application/x-other']), /xz\.json.*artifact-type/);
  });

  it('a spec pushed beside other files stays a compat spec layer that check reads', () => {
    const r = run(['push', ...plain, `${host}/apps/xz:bundle`, 'xz.json', 'docs/hi.txt', '--json']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).kind).toBe('compat');
    const m = rawManifest(`${host}/apps/xz:bundle`);
    expect(m.artifactType).toBe(COMPAT);
    expect(m.layers.map((l) => [l.annotations?.[TITLE], l.mediaType])).toEqual([
      ['xz.json', SPEC_LAYER],
      ['docs/hi.txt', 'application/vnd.oci.image.layer.v1.tar'],
    ]);
    const c = run(['check', ...plain, '--json', `${host}/apps/xz:bundle`]);
    expect([0, 1]).toContain(c.status);
    expect(typeof JSON.parse(c.stdout).compatible).toBe('boolean');
  });
});

describe('attach and discover', () => {
  let subject: string;

  beforeAll(async () => {
    const repo = new RemoteRepository(`${host}/apps/solver`, { plainHttp: true });
    await pushBytes(repo, EMPTY_JSON, EMPTY_DESCRIPTOR.mediaType);
    const layer = await pushBytes(repo, Buffer.from('image stand-in\n'), 'application/vnd.oci.image.layer.v1.tar');
    const cfg = await pushBytes(repo, Buffer.from('{"architecture":"amd64","os":"linux"}'), 'application/vnd.oci.image.config.v1+json');
    const { bytes } = buildManifest({ config: cfg, layers: [layer] });
    subject = (await pushManifest(repo, bytes, { reference: '1.2' })).digest;
  });

  it('attaches any files with --artifact-type (an NFD YAML), an ELF described on the fly, and refuses files without a type', () => {
    const a = run(['attach', ...plain, `${host}/apps/solver:1.2`, 'nfd.yaml', '--artifact-type', NFD, '-a', 'org.opencontainers.image.created=2001-01-01T00:00:00Z']);
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    const e = run(['attach', ...plain, `${host}/apps/solver:1.2`, '/usr/bin/xz', '--json']);
    expect(e.stderr).toBe('');
    const attached = JSON.parse(e.stdout);
    const m = rawManifest(`${host}/apps/solver@${attached.digest}`);
    expect(m.artifactType).toBe(COMPAT);
    expect(m.subject?.digest).toBe(subject);
    expectOneLineError(run(['attach', ...plain, `${host}/apps/solver:1.2`, 'docs/hi.txt']), /artifact-type/);
    const d = JSON.parse(run(['discover', ...plain, '--json', `${host}/apps/solver:1.2`]).stdout);
    expect(d.referrers.map((x: { kind: string }) => x.kind)).toEqual(['compat', 'nfd-image-compatibility']);
  });

  it('discover --format tree|table|json shows referrers of referrers, down to --depth', () => {
    const top = JSON.parse(run(['discover', ...plain, '--json', '--artifact-type', COMPAT, `${host}/apps/solver:1.2`]).stdout).referrers[0].digest as string;
    writeFileSync(join(dir, 'sig.txt'), 'signed\n');
    expect(run(['attach', ...plain, `${host}/apps/solver@${top}`, 'sig.txt', '--artifact-type', 'application/vnd.example.signature']).status).toBe(0);
    const tree = run(['discover', ...plain, '--format', 'tree', `${host}/apps/solver:1.2`]);
    expect(tree.status).toBe(0);
    const lines = tree.stdout.trimEnd().split('\n');
    expect(lines[0]).toContain(subject);
    const sig = lines.findIndex((l) => l.includes('application/vnd.example.signature'));
    const parent = lines.findIndex((l) => l.includes(top));
    expect(parent).toBeGreaterThan(0);
    expect(sig).toBeGreaterThan(parent);
    // Drawn under its parent: further right.
    expect(lines[sig]!.indexOf('application/')).toBeGreaterThan(lines[parent]!.indexOf('sha256:'));
    const shallow = run(['discover', ...plain, '--format', 'tree', '--depth', '1', `${host}/apps/solver:1.2`]);
    expect(shallow.stdout).not.toContain('application/vnd.example.signature');
    expect(shallow.stdout).toContain(top);
    const json = JSON.parse(run(['discover', ...plain, '--format', 'json', `${host}/apps/solver:1.2`]).stdout);
    const compatRef = json.referrers.find((x: { digest: string }) => x.digest === top);
    expect(compatRef.referrers.map((x: { artifactType: string }) => x.artifactType)).toEqual(['application/vnd.example.signature']);
    const table = run(['discover', ...plain, '--format', 'table', `${host}/apps/solver:1.2`]);
    expect(table.stdout).toMatch(/DIGEST\s+KIND\s+ARTIFACT TYPE/);
    expectOneLineError(run(['discover', ...plain, '--format', 'yaml', `${host}/apps/solver:1.2`]), /format/);
  });
});

describe('list', () => {
  it('--last T lists the tags after T; --exclude-digest-tags hides the sha256-<hex> fallback tags', () => {
    const all = JSON.parse(run(['list', ...plain, '--json', `${host}/apps/solver`]).stdout).map((r: { tag: string }) => r.tag);
    expect(all.some((t: string) => /^sha256-[0-9a-f]{64}$/.test(t))).toBe(true);
    const hidden = JSON.parse(run(['list', ...plain, '--json', '--exclude-digest-tags', `${host}/apps/solver`]).stdout).map((r: { tag: string }) => r.tag);
    expect(hidden).toEqual(['1.2']);
    const after = JSON.parse(run(['list', ...plain, '--json', '--last', 'b', `${host}/multi/tags`]).stdout).map((r: { tag: string }) => r.tag);
    expect(after).toEqual(['c']);
  });

  it('a layout that does not exist is an error; a registry without a repository says there is no catalog', () => {
    expectOneLineError(run(['list', '--oci-layout', join(dir, 'no-such-layout')]), /no-such-layout.*(no OCI layout|does not exist)/);
    expect(existsSync(join(dir, 'no-such-layout'))).toBe(false);
    expectOneLineError(run(['list', ...plain, host]), /catalog/);
  });
});

describe('pull', () => {
  it('says what it skipped: untitled layers, and an image it does not unpack', async () => {
    const layout = new OciLayout(join(dir, 'mixed'));
    await pushBytes(layout, EMPTY_JSON, EMPTY_DESCRIPTOR.mediaType);
    const titled = await pushBytes(layout, Buffer.from('x\n'), 'text/plain', { annotations: { [TITLE]: 'a/b/c.txt' } });
    const untitled = await pushBytes(layout, Buffer.from('y\n'), 'text/plain');
    await pushManifest(layout, buildManifest({ artifactType: 'application/vnd.example', layers: [titled, untitled] }).bytes, { reference: 'v1' });
    const out = join(dir, 'mixed-out');
    const r = run(['pull', '--oci-layout', `${join(dir, 'mixed')}:v1`, '-o', out]);
    expect(r.status).toBe(0);
    expect(readFileSync(join(out, 'a/b/c.txt'), 'utf8')).toBe('x\n');
    expect(r.stdout).toMatch(new RegExp(`Skipped .*${untitled.digest.slice(0, 19)}.*no title`));
    const j = JSON.parse(run(['pull', '--json', '--oci-layout', `${join(dir, 'mixed')}:v1`, '-o', join(dir, 'mixed-out2')]).stdout);
    expect(j.skipped).toEqual([{ digest: untitled.digest, reason: expect.stringContaining('no title') }]);

    const img = run(['pull', ...plain, `${host}/apps/solver:1.2`, '-o', join(dir, 'image-out')]);
    expect(img.status).toBe(0);
    expect(img.stdout).toMatch(/Skipped .*image/);
  });
});

describe('--json: one shape across push, attach, pull and cp', () => {
  it('reference, digest, mediaType, size, totalSize and files', () => {
    const push = JSON.parse(run(['push', ...plain, '--json', `${host}/json/shape:v1`, 'docs/hi.txt']).stdout);
    const attach = JSON.parse(run(['attach', ...plain, '--json', `${host}/json/shape:v1`, 'nfd.yaml', '--artifact-type', NFD]).stdout);
    const pull = JSON.parse(run(['pull', ...plain, '--json', `${host}/json/shape:v1`, '-o', join(dir, 'shape-out')]).stdout);
    for (const o of [push, attach, pull]) {
      expect(o).toMatchObject({ reference: expect.any(String), digest: expect.stringMatching(/^sha256:/), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: expect.any(Number), totalSize: expect.any(Number) });
      expect(o.totalSize).toBeGreaterThan(o.size);
      for (const f of o.files) expect(f).toMatchObject({ title: expect.any(String), digest: expect.stringMatching(/^sha256:/), mediaType: expect.any(String), size: expect.any(Number) });
    }
    expect(push.files.map((f: { title: string }) => f.title)).toEqual(['docs/hi.txt']);
    expect(attach.files.map((f: { title: string }) => f.title)).toEqual(['nfd.yaml']);
    expect(pull.files.map((f: { title: string }) => f.title)).toEqual(['docs/hi.txt']);
    expect(pull.digest).toBe(push.digest);
  });

  it('the same keys in all four, each with only its own extras beside them', () => {
    const push = JSON.parse(run(['push', ...plain, '--json', `${host}/json/keys:v1`, 'docs/hi.txt']).stdout);
    const attach = JSON.parse(run(['attach', ...plain, '--json', `${host}/json/keys:v1`, 'nfd.yaml', '--artifact-type', NFD]).stdout);
    const pull = JSON.parse(run(['pull', ...plain, '--json', `${host}/json/keys:v1`]).stdout);
    const cp = JSON.parse(run(['cp', ...plain, '-r', '--json', `${host}/json/keys:v1`, `${host}/json/copied:v2`]).stdout);
    const shared = ['artifactType', 'digest', 'files', 'mediaType', 'reference', 'size', 'totalSize'];
    const extras: Array<[Record<string, unknown>, string[]]> = [[push, ['kind', 'tags']], [attach, ['kind', 'subject']], [pull, ['fromStore', 'skipped', 'store']], [cp, ['referrers', 'source']]];
    for (const [o, own] of extras) expect(Object.keys(o).sort()).toEqual([...shared, ...own].sort());
    // cp describes what it copied as push described what it pushed.
    const { reference: _p, ...pushed } = push;
    const { reference, source, referrers, ...copied } = cp;
    expect(copied).toEqual(Object.fromEntries(shared.filter((k) => k !== 'reference').map((k) => [k, pushed[k]])));
    expect([reference, source]).toEqual([`${host}/json/copied:v2`, `${host}/json/keys:v1`]);
    expect(referrers).toEqual([{ digest: attach.digest, artifactType: NFD }]);
  });
});
