import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compat, compatAsync, expectOneLineError, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { craftTar, makeLayeredImage, skopeoPush, tarOf, type TestImage } from '../helpers/image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { build, makeRoot, runInRoot } from '../helpers/roots.js';

interface Spec {
  kind: string;
  name: string;
  image?: { reference: string; digest: string; index?: string; platform?: string };
  loader?: { interpreter?: string; defaultDirs: string[]; ldSoCache: { present: boolean; entries: number }; ldSoConf: string[]; glibc?: string };
  binaries: Array<{ path: string }>;
}

/**
 * `compat gen --image REF`: the image pulled (index → manifest → config → layers), its layers
 * applied with whiteouts into a temporary root, described as `gen --root` describes umoci's
 * unpack of the same image, plus the root's loader configuration; the temporary root removed.
 */
describe('gen --image', () => {
  let dir: string;
  let env: Record<string, string>;
  let tmp: string;
  let reg: TestRegistry;
  let image: TestImage;
  /** The same layers all gzip: Debian's umoci predates zstd layers. */
  let gzipTwin: TestImage;
  let ref: string;

  beforeAll(async () => {
    dir = tempDir();
    tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    env = isolatedEnv(dir, { TMPDIR: tmp });
    const lower = makeRoot(join(dir, 'lower'), { libc: 'host', confDirs: ['/opt/extra/lib'] });
    build(join(lower, 'usr/bin/hello'), 'int puts(const char*); int main(void){puts("hello"); return 0;}', []);
    build(join(lower, 'usr/bin/gone'), 'int main(void){return 0;}', []);
    build(join(lower, 'opt/old/libold.so.1'), 'int old(void){return 1;}', ['-shared', '-Wl,-soname,libold.so.1']);
    // The upper layer: a whiteout, an opaque directory with a new library, a second program.
    const upper = join(dir, 'upper');
    mkdirSync(join(upper, 'usr/bin'), { recursive: true });
    mkdirSync(join(upper, 'opt/old'), { recursive: true });
    writeFileSync(join(upper, 'usr/bin/.wh.gone'), '');
    writeFileSync(join(upper, 'opt/old/.wh..wh..opq'), '');
    build(join(upper, 'opt/old/libnew.so.1'), 'int fresh(void){return 2;}', ['-shared', '-Wl,-soname,libnew.so.1']);
    copyFileSync(join(lower, 'usr/bin/hello'), join(upper, 'usr/bin/second'));
    chmodSync(join(upper, 'usr/bin/second'), 0o755);
    for (const f of ['usr/bin/hello.c', 'usr/bin/gone.c', 'opt/old/libold.so.1.c']) execFileSync('rm', [join(lower, f)]);
    execFileSync('rm', [join(upper, 'opt/old/libnew.so.1.c')]);
    image = await makeLayeredImage('v1', [{ tar: tarOf(lower), compression: 'gzip' }, { tar: tarOf(upper), compression: 'zstd' }]);
    gzipTwin = await makeLayeredImage('v1', [{ tar: tarOf(lower), compression: 'gzip' }, { tar: tarOf(upper), compression: 'gzip' }]);
    reg = await startRegistry();
    ref = `${reg.host}/apps/base:v1`;
    skopeoPush(image, ref);
  });

  afterAll(async () => {
    await reg?.dispose();
  });

  it('describes the layers as applied (whiteouts, opaque dirs, zstd) like gen --root on umoci unpack, with the loader configuration, and leaves no temporary root', async () => {
    const r = await compatAsync(['gen', '--plain-http', '--image', ref], { env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const spec = JSON.parse(r.stdout) as Spec;
    expect(spec.kind).toBe('rootfs');
    expect(spec.name).toBe('base');
    expect(spec.image).toEqual({ reference: ref, digest: image.digest, platform: 'linux/amd64' });
    const glibc = execFileSync('sh', ['-c', "ldd --version | head -1 | sed 's/.* //'"], { encoding: 'utf8' }).trim();
    expect(spec.loader).toEqual({
      interpreter: '/lib64/ld-linux-x86-64.so.2',
      defaultDirs: expect.arrayContaining(['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu']),
      ldSoCache: { present: true, entries: expect.any(Number) },
      ldSoConf: ['/opt/extra/lib'],
      glibc: `GLIBC_${glibc}`,
    });
    const paths = spec.binaries.map((b) => b.path).sort();
    expect(paths).toEqual(expect.arrayContaining(['usr/bin/hello', 'usr/bin/second', 'opt/old/libnew.so.1']));
    expect(paths).not.toContain('usr/bin/gone');
    expect(paths).not.toContain('opt/old/libold.so.1');
    // The oracle: umoci's own unpack of the same image, described by gen --root.
    const bundle = join(dir, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${gzipTwin.layout}:${gzipTwin.tag}`, bundle], { stdio: ['ignore', 'ignore', 'pipe'] });
    const viaUmoci = JSON.parse(compat(['gen', '--root', join(bundle, 'rootfs')], { env }).stdout) as Spec;
    expect(spec.binaries).toEqual(viaUmoci.binaries);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('is attached to the image as a referrer, and check IMAGE then finds it', async () => {
    const out = join(dir, 'base.compat.json');
    const g = await compatAsync(['gen', '--plain-http', '--image', ref, '-o', out], { env });
    expect(g.stderr).toMatch(/^wrote .*base\.compat\.json: \d+ binaries, needs up to GLIBC_/);
    const a = await compatAsync(['attach', '--plain-http', ref, out], { env });
    expect(a.status).toBe(0);
    const d = await compatAsync(['discover', '--plain-http', ref, '--format', 'json'], { env });
    expect(d.stdout).toContain('application/vnd.compspec.compat.v1');
    const c = await compatAsync(['check', '--plain-http', ref], { env });
    expect(c.stderr).toBe('');
    expect(c.stdout).toBe(`${ref}: compatible with this node (x86_64, GLIBC_2.36)\n`);
    expect(c.status).toBe(0);
  });

  it('check IMAGE resolves the applications inside the image alone: a library only the node has does not count', async () => {
    // A program that needs libz.so.1, in an image without it (the node has it).
    const root = makeRoot(join(dir, 'nozlib'), { libc: 'host' });
    build(join(root, 'usr/bin/needz'), 'int zlibVersion(void); int main(void){return zlibVersion() ? 0 : 1;}', ['/lib/x86_64-linux-gnu/libz.so.1']);
    execFileSync('rm', [join(root, 'usr/bin/needz.c')]);
    const img = await makeLayeredImage('nozlib', [{ tar: tarOf(root), compression: 'gzip' }]);
    const zref = `${reg.host}/apps/nozlib:v1`;
    skopeoPush(img, zref);
    const out = join(dir, 'nozlib.compat.json');
    expect((await compatAsync(['gen', '--plain-http', '--image', zref, '-o', out], { env })).status).toBe(0);
    expect((await compatAsync(['attach', '--plain-http', zref, out], { env })).status).toBe(0);
    const c = await compatAsync(['check', '--plain-http', zref], { env });
    expect(c.status).toBe(1);
    expect(c.stdout).toMatch(/libz\.so\.1/);
    // The loader inside the image agrees.
    const bundle = join(dir, 'nozlib-bundle');
    execFileSync('umoci', ['unpack', '--image', `${img.layout}:${img.tag}`, bundle], { stdio: ['ignore', 'ignore', 'pipe'] });
    const run = runInRoot(join(bundle, 'rootfs'), '/usr/bin/needz');
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/libz\.so\.1: cannot open shared object file/);
    // The same spec without its image field (a set of binaries to lay over the node) finds the node's libz.
    const spec = JSON.parse(readFileSync(out, 'utf8'));
    delete spec.image;
    const plainSpec = join(dir, 'nozlib-overlay.json');
    writeFileSync(plainSpec, JSON.stringify(spec));
    expect(compat(['check', plainSpec], { env }).stdout).not.toMatch(/libz\.so\.1/);
  });

  it('--platform picks the manifest of an index (--oci-layout); a platform the index lacks is one line', async () => {
    const multi = await makeLayeredImage('multi', [{ tar: craftTar([{ name: 'etc', type: 'dir' }, { name: 'etc/hostname', type: 'file', data: 'x' }]) }], { platforms: ['linux/amd64', 'linux/arm64'] });
    const r = compat(['gen', '--oci-layout', '--image', `${multi.layout}:multi`, '--platform', 'linux/arm64'], { env });
    expect(r.status).toBe(0);
    const spec = JSON.parse(r.stdout) as Spec;
    expect(spec.image).toEqual({ reference: `${multi.layout}:multi`, digest: multi.platforms['linux/arm64'], index: multi.digest, platform: 'linux/arm64' });
    expectOneLineError(compat(['gen', '--oci-layout', '--image', `${multi.layout}:multi`, '--platform', 'linux/s390x'], { env }), /^compat: .*multi: the index lists no linux\/s390x image$/);
    expect(readdirSync(tmp)).toEqual([]);
  });

  describe('malicious layers: refused in one line naming the image and the entry, nothing written outside, no temporary root left', () => {
    let outside: string;
    beforeAll(() => {
      outside = join(dir, 'outside');
      mkdirSync(outside);
    });

    const zeros = (mb: number) => execFileSync('sh', ['-c', `truncate -s ${mb}M big && tar -cf - --owner=0 --group=0 big | gzip -1 -c; rm -f big`], { cwd: tempDir(), maxBuffer: 64 * 1024 * 1024 });

    const cases: Array<[string, () => Array<{ tar: Buffer; compression?: 'gzip' | 'none' }>, RegExp]> = [
      ['an escaping path', () => [{ tar: craftTar([{ name: '../../escaped', type: 'file', data: 'x' }]) }], /refusing "\.\.\/\.\.\/escaped": a path with "\.\."/],
      ['an absolute path', () => [{ tar: craftTar([{ name: '/abs-escaped', type: 'file', data: 'x' }]) }], /refusing "\/abs-escaped": an absolute path/],
      ['a symlink, then a file through it (one layer)', () => [{ tar: craftTar([{ name: 'lnk', type: 'symlink', linkname: outside }, { name: 'lnk/pwned', type: 'file', data: 'x' }]) }], /refusing "lnk\/pwned": lnk is a symbolic link/],
      ['a symlink, then a file through it (next layer)', () => [{ tar: craftTar([{ name: 'lnk', type: 'symlink', linkname: outside }]) }, { tar: craftTar([{ name: 'lnk/pwned', type: 'file', data: 'x' }]) }], /refusing "lnk\/pwned": lnk is a symbolic link/],
      ['a device node', () => [{ tar: craftTar([{ name: 'dev', type: 'dir' }, { name: 'dev/mem', type: 'chr' }]) }], /refusing "dev\/mem": a device node/],
      ['a FIFO', () => [{ tar: craftTar([{ name: 'fifo', type: 'fifo' }]) }], /refusing "fifo": a FIFO/],
      ['a hard link out of the image', () => [{ tar: craftTar([{ name: 'h', type: 'link', linkname: '../../../etc/passwd' }]) }], /refusing "\.\.\/\.\.\/\.\.\/etc\/passwd": a path with "\.\."/],
      ['a 10 GB (sparse) file', () => [{ tar: craftTar([{ name: 'huge', type: 'file', fill: 8 * 1024 * 1024, size: 10 * 1024 ** 3 }]), compression: 'none' }], /refusing "huge": the image unpacks to more than \d+ bytes/],
      ['a decompression bomb', () => [{ tar: Buffer.alloc(0) }], /decompresses to more than \d+ bytes/],
    ];

    it.each(cases)('%s', async (name, layers, why) => {
      const made = layers();
      // The bomb's layer is already gzip: 300 MB of zeros in about 300 KB.
      const img = name.includes('bomb')
        ? await makeLayeredImage('bad', [{ tar: zeros(300), compression: 'none' }])
        : await makeLayeredImage('bad', made);
      const before = readdirSync(dir).sort();
      const r = compat(['gen', '--oci-layout', '--image', `${img.layout}:bad`], { env });
      expectOneLineError(r, new RegExp(`^compat: ${img.layout.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:bad: layer sha256:[0-9a-f]{64}: .*${why.source}`));
      expect(readdirSync(dir).sort()).toEqual(before);
      expect(readdirSync(outside)).toEqual([]);
      expect(readdirSync(tmp)).toEqual([]);
    });
  });
});
