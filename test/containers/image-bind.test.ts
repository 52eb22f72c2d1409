import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compatAsync, expectOneLineError, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { makeLayeredImage, skopeoPush, tarOf } from '../helpers/image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { build, ldcache, makeRoot, MULTIARCH, runInRoot } from '../helpers/roots.js';

/**
 * The same questions as bind-check ROOT and check --root, asked of images in a real registry:
 * `bind-check IMAGE --lib HOST…` and `check SPEC --image IMAGE`. Images are test-assembled roots
 * (the host's libc, a stand-in glibc 2.28, a stand-in 2.36, one with its own older libfabric),
 * pushed with skopeo; every verdict is run inside umoci's unpack of the same image with bwrap,
 * the host files bound where bind-check says. Zero false "compatible"; each "no" names the cause.
 */

const REAL_LIBC = `${MULTIARCH}/libc.so.6`;

interface Verdict {
  compatible: boolean;
  container: { root: string; glibc?: string };
  reasons: Array<{ class: string; message: string }>;
  binds: Array<{ host: string; target: string }>;
  libraryPath: string[];
}

describe('bind-check IMAGE and check --image, verified by running inside the unpacked image', () => {
  let dir: string;
  let env: Record<string, string>;
  let tmp: string;
  let reg: TestRegistry;
  const refs: Record<string, string> = {};
  const unpacked: Record<string, string> = {};
  const libs: Record<string, string> = {};

  const writeText = (path: string, text: string) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  };

  beforeAll(async () => {
    dir = tempDir();
    tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    env = isolatedEnv(dir, { TMPDIR: tmp });
    const H = join(dir, 'host');
    writeText(join(dir, 'fab.map'), 'FABRIC_1.0 { global: fi_old; local: *; };\nFABRIC_1.2 { global: fi_new2; } FABRIC_1.0;\n');
    build(join(H, 'fab/libfabric.so.1'), 'int fi_old(void){return 0;} int fi_new2(void){return 0;}', ['-shared', '-Wl,-soname,libfabric.so.1', `-Wl,--version-script=${join(dir, 'fab.map')}`], REAL_LIBC);
    const lib = (name: string, src: string, args: string[] = []) => {
      libs[name] = build(join(H, 'lib', name), src, ['-shared', `-Wl,-soname,${name}`, '-Wl,-z,now', ...args], REAL_LIBC);
    };
    lib('libplain.so.1', 'int puts(const char*); void entry(void){puts("plain");}');
    lib('libnew.so.1', 'unsigned arc4random(void); int puts(const char*); void entry(void){if(arc4random()) puts("fresh");}');
    lib('libmpi.so.12', 'int fi_new2(void); int puts(const char*); void entry(void){if(!fi_new2()) puts("mpi");}', [join(H, 'fab/libfabric.so.1'), `-Wl,-rpath,${join(H, 'fab')}`]);
    lib('libsym.so.1', 'void *memcpy(void*,const void*,unsigned long); int puts(const char*); void entry(void){char b[4]; memcpy(b,"sym",4); puts(b);}', ['-fno-builtin']);

    const roots: Record<string, string> = {
      host: makeRoot(join(dir, 'r-host'), { libc: 'host' }),
      old: makeRoot(join(dir, 'r-old'), { libc: '2.28' }),
      new: makeRoot(join(dir, 'r-new'), { libc: '2.36' }),
      shadow: makeRoot(join(dir, 'r-shadow'), { libc: '2.36' }),
    };
    const shadowLibc = join(roots.shadow!, MULTIARCH, 'libc.so.6');
    writeText(join(dir, 'oldfab.map'), 'FABRIC_1.0 { global: fi_old; local: *; };\nFABRIC_1.1 { global: fi_new; } FABRIC_1.0;\n');
    build(join(roots.shadow!, 'usr/lib/x86_64-linux-gnu/libfabric.so.1'), 'int fi_old(void){return 0;} int fi_new(void){return 0;}', ['-shared', '-Wl,-soname,libfabric.so.1', `-Wl,--version-script=${join(dir, 'oldfab.map')}`], shadowLibc);
    build(join(roots.shadow!, 'usr/bin/fabapp'), 'int fi_new(void); int puts(const char*); void exit(int); void _start(void){if(!fi_new()) puts("fabapp"); exit(0);}', [join(roots.shadow!, 'usr/lib/x86_64-linux-gnu/libfabric.so.1')], shadowLibc);
    ldcache(roots.shadow!);
    // Each image carries a probe per library: a program of the container that loads it and calls it.
    for (const root of Object.values(roots)) {
      for (const name of Object.keys(libs)) build(join(root, 'probe', name), 'void entry(void); void exit(int); void _start(void){entry(); exit(0);}', [libs[name]!, '-Wl,--allow-shlib-undefined'], join(root, MULTIARCH, 'libc.so.6'));
      execFileSync('sh', ['-c', `rm -f ${root}/probe/*.c ${root}/usr/bin/*.c ${root}/usr/lib/x86_64-linux-gnu/*.c`]);
    }
    reg = await startRegistry();
    for (const [name, root] of Object.entries(roots)) {
      const img = await makeLayeredImage(name, [{ tar: tarOf(root) }]);
      refs[name] = `${reg.host}/images/${name}:${name}`;
      skopeoPush(img, refs[name]!);
      unpacked[name] = join(dir, `u-${name}`, 'rootfs');
      execFileSync('umoci', ['unpack', '--image', `${img.layout}:${name}`, dirname(unpacked[name]!)], { stdio: ['ignore', 'ignore', 'pipe'] });
      rmSync(root, { recursive: true });
    }
  });

  afterAll(async () => {
    await reg?.dispose();
  });

  const cases: Array<[string, string, boolean, RegExp | null]> = [
    ['libplain.so.1', 'host', true, null],
    ['libplain.so.1', 'old', true, null],
    ['libplain.so.1', 'new', true, null],
    ['libplain.so.1', 'shadow', true, null],
    ['libnew.so.1', 'host', true, null],
    ['libnew.so.1', 'old', false, /GLIBC_2\.36/],
    ['libnew.so.1', 'new', true, null],
    ['libnew.so.1', 'shadow', true, null],
    ['libmpi.so.12', 'host', true, null],
    ['libmpi.so.12', 'old', true, null],
    ['libmpi.so.12', 'new', true, null],
    ['libmpi.so.12', 'shadow', false, /FABRIC_1\.1/],
    ['libsym.so.1', 'host', true, null],
    ['libsym.so.1', 'old', false, /memcpy/],
    ['libsym.so.1', 'new', false, /memcpy/],
    ['libsym.so.1', 'shadow', false, /memcpy/],
  ];

  it.each(cases)('bind-check IMAGE: %s into the %s image', async (name, image, expected, cause) => {
    const r = await compatAsync(['bind-check', '--plain-http', refs[image]!, '--lib', libs[name]!, '--json'], { env });
    expect(r.stderr).toBe('');
    const v = JSON.parse(r.stdout) as Verdict;
    expect(r.status).toBe(v.compatible ? 0 : 1);
    expect(v.container.root).toBe(refs[image]);
    const binds = v.binds.map((b) => [b.host, b.target] as [string, string]);
    const ldpath = { LD_LIBRARY_PATH: v.libraryPath.join(':') };
    const run = runInRoot(unpacked[image]!, `/probe/${name}`, binds, ldpath);
    const own = image === 'shadow' ? runInRoot(unpacked[image]!, '/usr/bin/fabapp', binds, ldpath) : { status: 0, stderr: '' };
    const ranOk = run.status === 0 && own.status === 0;
    if (v.compatible) expect({ run: run.stderr, own: own.stderr, ok: ranOk }).toEqual({ run: '', own: '', ok: true });
    expect(v.compatible).toBe(expected);
    if (!expected) {
      expect(ranOk).toBe(false);
      expect(v.reasons.map((x) => x.message).join('\n')).toMatch(cause!);
      expect(`${run.stderr}\n${own.stderr}`).toMatch(cause!);
    }
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('the text report names the image', async () => {
    const r = await compatAsync(['bind-check', '--plain-http', refs.old!, '--lib', libs['libnew.so.1']!], { env });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^${refs.old!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: NOT compatible: .*\\(x86_64, GLIBC_2\\.28\\)`));
    expect(r.stdout).toMatch(/warning: glibc itself would have to be replaced/);
  });

  it('check SPEC --image: an application against the image, as check --root against its unpack', async () => {
    const app = join(dir, 'app');
    build(join(app, 'bin/app'), 'int puts(const char*); int main(void){puts("app"); return 0;}', []);
    const spec = join(dir, 'app.json');
    const g = await compatAsync(['gen', join(app, 'bin/app'), '-o', spec], { env });
    expect(g.status).toBe(0);
    for (const image of ['host', 'old']) {
      const viaImage = await compatAsync(['check', spec, '--image', refs[image]!, '--plain-http', '--json'], { env });
      const viaRoot = await compatAsync(['check', spec, '--root', unpacked[image]!, '--json'], { env });
      expect(viaImage.stderr).toBe('');
      const a = JSON.parse(viaImage.stdout) as { compatible: boolean; reasons: unknown[] };
      const b = JSON.parse(viaRoot.stdout) as { compatible: boolean; reasons: unknown[] };
      expect({ compatible: a.compatible, reasons: a.reasons }).toEqual({ compatible: b.compatible, reasons: b.reasons });
      expect(viaImage.status).toBe(image === 'host' ? 0 : 1);
      // The loader agrees: the program run inside the unpacked image.
      mkdirSync(join(unpacked[image]!, 'app/bin'), { recursive: true });
      execFileSync('cp', [join(app, 'bin/app'), join(unpacked[image]!, 'app/bin/app')]);
      expect(runInRoot(unpacked[image]!, '/app/bin/app').status === 0).toBe(a.compatible);
      rmSync(join(unpacked[image]!, 'app'), { recursive: true });
    }
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('bad input: one line, exit 2', async () => {
    expectOneLineError(await compatAsync(['bind-check', '--plain-http', `${reg.host}/images/nope:nope`, '--lib', libs['libplain.so.1']!], { env }), /^compat: .*images\/nope/);
    expectOneLineError(await compatAsync(['check', join(dir, 'nope.json'), '--image', refs.old!, '--plain-http'], { env }), /^compat: .*nope\.json: /);
  });
});
