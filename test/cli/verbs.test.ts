// The ORAS verbs: cp [-r] between registries and OCI layouts, manifest fetch, tag, resolve, against
// the real registry, with skopeo as the outside reader of what was copied.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { compat, expectOneLineError, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { makeImage, skopeoPush, specVariant, type TestImage } from '../helpers/image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

let reg: TestRegistry;
let other: TestRegistry;
let dir: string;
let env: Record<string, string>;
let host: string;
let image: TestImage;
let multi: TestImage;
const plain = ['--plain-http'];
const HOST_PLATFORM = `linux/${({ x64: 'amd64', arm64: 'arm64', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[process.arch] ?? process.arch}`;
const OTHER_PLATFORM = HOST_PLATFORM === 'linux/s390x' ? 'linux/riscv64' : 'linux/s390x';

const run = (args: string[]) => compat(args, { env });
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const skopeoRaw = (ref: string) => execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', ref]);

beforeAll(async () => {
  reg = await startRegistry();
  other = await startRegistry();
  host = reg.host;
  dir = tempDir();
  env = isolatedEnv(dir);
  expect(compat(['gen', '/usr/bin/xz', '-o', join(dir, 'xz.json')]).status).toBe(0);
  const good = specVariant(join(dir, 'xz.json'), join(dir, 'good.json'), '2030-01-01T00:00:00.000Z');
  const bad = specVariant(join(dir, 'xz.json'), join(dir, 'bad.json'), '2020-01-01T00:00:00.000Z', 'libnope.so.1');
  image = await makeImage('1');
  skopeoPush(image, `${host}/src/app:1`);
  expect(run(['attach', ...plain, `${host}/src/app:1`, good]).status).toBe(0);
  multi = await makeImage('m', [HOST_PLATFORM, OTHER_PLATFORM]);
  skopeoPush(multi, `${host}/src/multi:1`);
  expect(run(['attach', ...plain, `${host}/src/multi@${multi.platforms[HOST_PLATFORM]}`, good]).status).toBe(0);
  expect(run(['attach', ...plain, `${host}/src/multi@${multi.platforms[OTHER_PLATFORM]}`, bad]).status).toBe(0);
});

afterAll(async () => {
  await reg?.dispose();
  await other?.dispose();
});

describe('compat cp', () => {
  it('-r promotes an image with its compat artifact to another repository; without -r the spec stays behind', () => {
    const r = run(['cp', ...plain, '-r', `${host}/src/app:1`, `${host}/prod/app:1`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Digest: ${image.digest}`);
    expect(sha256(skopeoRaw(`docker://${host}/prod/app:1`))).toBe(image.digest);
    expect(JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${host}/prod/app:1`], { encoding: 'utf8' })).Architecture).toBe('amd64');
    expect(run(['check', ...plain, `${host}/prod/app:1`]).status).toBe(0);
    expect(run(['cp', ...plain, `${host}/src/app:1`, `${host}/bare/app:1`]).status).toBe(0);
    expectOneLineError(run(['check', ...plain, `${host}/bare/app:1`]), /has no compat artifact/);
  });

  it('-r to another registry, keeping the source tag when the destination names none; --json', () => {
    const r = run(['cp', ...plain, '-r', '--json', `${host}/src/app:1`, `${other.host}/mirror/app`]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ reference: `${other.host}/mirror/app:1`, digest: image.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    expect(out.referrers).toHaveLength(1);
    expect(sha256(skopeoRaw(`docker://${other.host}/mirror/app:1`))).toBe(image.digest);
    expect(run(['check', ...plain, `${other.host}/mirror/app:1`]).status).toBe(0);
  });

  it('-r of an index copies the referrers of its platform manifests too', () => {
    expect(run(['cp', ...plain, '-r', `${host}/src/multi:1`, `${other.host}/mirror/multi:1`]).status).toBe(0);
    expect(sha256(skopeoRaw(`docker://${other.host}/mirror/multi:1`))).toBe(multi.digest);
    expect(run(['check', ...plain, `${other.host}/mirror/multi:1`]).status).toBe(0);
    expect(run(['check', ...plain, '--platform', OTHER_PLATFORM, `${other.host}/mirror/multi:1`]).status).toBe(1);
  });

  it('-r into an OCI layout and back out of it', () => {
    const layout = join(tempDir(), 'layout');
    expect(run(['cp', ...plain, '-r', '--to-oci-layout', `${host}/src/app:1`, `${layout}:app`]).status).toBe(0);
    expect(sha256(execFileSync('skopeo', ['inspect', '--raw', `oci:${layout}:app`]))).toBe(image.digest);
    expect(run(['check', '--oci-layout', `${layout}:app`]).status).toBe(0);
    expect(run(['cp', ...plain, '-r', '--from-oci-layout', `${layout}:app`, `${host}/from-layout/app:2`]).status).toBe(0);
    expect(run(['check', ...plain, `${host}/from-layout/app:2`]).status).toBe(0);
  });

  it('bad references and missing manifests are one line, exit 2, and nothing is written', () => {
    const layout = join(tempDir(), 'never');
    expectOneLineError(run(['cp', ...plain, `${host}/src/app:nope`, `${host}/dst/app:1`]), new RegExp(`^compat: ${host}/src/app:nope: manifest unknown$`));
    expectOneLineError(run(['cp', ...plain, '--to-oci-layout', `${host}/src/app:nope`, `${layout}:x`]), /manifest unknown$/);
    expect(existsSync(layout)).toBe(false);
    expectOneLineError(run(['cp', ...plain, 'Bad/Ref:1', `${host}/dst/app:1`]), /^compat: invalid reference "Bad\/Ref:1"/);
  });
});

describe('compat manifest fetch / resolve / tag', () => {
  it('manifest fetch prints the exact bytes; --descriptor the descriptor; --pretty indents', () => {
    const raw = run(['manifest', 'fetch', ...plain, `${host}/src/app:1`]);
    expect(raw.status).toBe(0);
    expect(sha256(Buffer.from(raw.stdout))).toBe(image.digest);
    const d = run(['manifest', 'fetch', ...plain, '--descriptor', `${host}/src/app:1`]);
    expect(JSON.parse(d.stdout)).toEqual({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image.digest, size: Buffer.byteLength(raw.stdout) });
    const pretty = run(['manifest', 'fetch', ...plain, '--pretty', `${host}/src/app:1`]);
    expect(pretty.stdout).toBe(`${JSON.stringify(JSON.parse(raw.stdout), null, 2)}\n`);
    expect(sha256(Buffer.from(run(['manifest', 'fetch', '--oci-layout', `${image.layout}:1`]).stdout))).toBe(image.digest);
    expectOneLineError(run(['manifest', 'fetch', ...plain, `${host}/src/app:nope`]), new RegExp(`^compat: ${host}/src/app:nope: manifest unknown$`));
    expectOneLineError(run(['manifest', 'fetch', ...plain, `${host}/src/app@sha256:1234`]), /^compat: invalid reference/);
  });

  it('resolve prints the digest', () => {
    const r = run(['resolve', ...plain, `${host}/src/app:1`]);
    expect(r.stdout).toBe(`${image.digest}\n`);
    expect(JSON.parse(run(['resolve', ...plain, '--json', `${host}/src/multi:1`]).stdout)).toMatchObject({ reference: `${host}/src/multi:1`, digest: multi.digest, mediaType: 'application/vnd.oci.image.index.v1+json' });
    expect(run(['resolve', '--oci-layout', `${image.layout}:1`]).stdout).toBe(`${image.digest}\n`);
    expectOneLineError(run(['resolve', ...plain, `${host}/src/none:1`]), new RegExp(`^compat: ${host}/src/none:1: (manifest unknown|repository name not known to registry)$`));
  });

  it('tag points new tags at a manifest; an invalid tag is refused before any is written', () => {
    const r = run(['tag', ...plain, `${host}/src/app:1`, 'v2', 'stable']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('v2');
    for (const t of ['v2', 'stable']) expect(sha256(skopeoRaw(`docker://${host}/src/app:${t}`))).toBe(image.digest);
    const j = run(['tag', ...plain, '--json', `${host}/src/app@${image.digest}`, 'v3']);
    expect(JSON.parse(j.stdout)).toEqual({ reference: `${host}/src/app@${image.digest}`, digest: image.digest, tags: ['v3'] });
    expectOneLineError(run(['tag', ...plain, `${host}/src/app:1`, 'v4', '.bad']), /^compat: \.bad: not a valid tag /);
    expect(() => skopeoRaw(`docker://${host}/src/app:v4`)).toThrow();
    expect(run(['tag', '--oci-layout', `${image.layout}:1`, 'again']).status).toBe(0);
    expect(sha256(execFileSync('skopeo', ['inspect', '--raw', `oci:${image.layout}:again`]))).toBe(image.digest);
  });
});
