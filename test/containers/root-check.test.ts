import { beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { compat, expectOneLineError, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { build, ldcache, makeRoot, MULTIARCH, runInRoot } from '../helpers/roots.js';

/**
 * `host scan --root DIR` and `check --root DIR`: a root file system checked as if it were `/`
 * (its ld.so.cache from its own ld.so.conf, its loader's directories, its absolute links kept
 * inside it). Each verdict is the one the real loader gives running the program inside the root.
 */
describe('the node is a root', () => {
  let dir: string;
  let root: string;
  let env: Record<string, string>;
  const spec = (name: string) => join(dir, `${name}.json`);

  beforeAll(() => {
    dir = tempDir();
    env = isolatedEnv(dir);
    root = makeRoot(join(dir, 'old'), { libc: '2.28', confDirs: ['/opt/site/lib'] });
    const libc = join(root, MULTIARCH, 'libc.so.6');
    // A site library found only through the root's ld.so.conf (its cache), and under an absolute
    // link that must resolve inside the root.
    build(join(root, 'opt/site/lib/libsite.so.1'), 'int puts(const char*); void site(void){puts("site");}', ['-shared', '-Wl,-soname,libsite.so.1'], libc);
    symlinkSync('/opt/site/lib/libsite.so.1', join(root, 'usr/lib/x86_64-linux-gnu/libsitelink.so.1'));
    // An absolute link that climbs: inside the root it dangles; on the host it would reach the host's libz.
    symlinkSync('/../../../../../../../../lib/x86_64-linux-gnu/libz.so.1', join(root, 'usr/lib/x86_64-linux-gnu/libz.so.1'));
    ldcache(root);
    const app = (name: string, src: string, libs: string[]) => {
      build(join(dir, 'apps', name), src, libs, libc);
      expect(compat(['gen', join(dir, 'apps', name), '-o', spec(name)], { env }).status).toBe(0);
    };
    mkdirSync(join(dir, 'apps'), { recursive: true });
    app('site', 'void site(void); void exit(int); void _start(void){site(); exit(0);}', [join(root, 'opt/site/lib/libsite.so.1')]);
    app('zapp', 'int zlibVersion(void); void exit(int); void _start(void){zlibVersion(); exit(0);}', ['/lib/x86_64-linux-gnu/libz.so.1', '-Wl,--allow-shlib-undefined']);
    // An ordinary program of this host: needs GLIBC_2.34 (__libc_start_main) at least.
    build(join(dir, 'apps', 'hello'), '#include <stdio.h>\nint main(void){puts("hello");return 0;}', []);
    expect(compat(['gen', join(dir, 'apps', 'hello'), '-o', spec('hello')], { env }).status).toBe(0);
  });

  it('scans the root: its libc version, its cache, its ld.so.conf directories', () => {
    const r = compat(['host', 'scan', '--root', root, '--json'], { env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.glibc).toBe('GLIBC_2.28');
    expect(s.root).toBe(root);
    expect(s.ldSoConf).toEqual(['/opt/site/lib']);
    expect(s.file).not.toBe(join(dir, 'cache/compat/host-index.json'));
  });

  it('a library of the root found through its own cache: compatible, and it runs there', () => {
    const r = compat(['check', '--root', root, spec('site')], { env });
    expect(r.stdout).toMatch(/compatible with this node \(x86_64, GLIBC_2\.28\)/);
    expect(r.status).toBe(0);
    const run = runInRoot(root, '/app', [[join(dir, 'apps/site'), '/app']]);
    expect(run.stdout).toBe('site\n');
    expect(run.status).toBe(0);
  });

  it("the host's newer glibc does not count: NOT compatible, as the loader says inside", () => {
    expect(compat(['check', spec('hello')], { env }).status).toBe(0);
    const r = compat(['check', '--root', root, spec('hello')], { env });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/GLIBC_2\.34 needed from libc\.so\.6, \/lib\/x86_64-linux-gnu\/libc\.so\.6 has up to GLIBC_2\.28/);
    const run = runInRoot(root, '/app', [[join(dir, 'apps/hello'), '/app']]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/version `GLIBC_2\.34' not found/);
  });

  it('an absolute link climbing out of the root resolves inside it (dangling), never to the host', () => {
    expect(compat(['check', spec('zapp')], { env }).status).toBe(0);
    const r = compat(['check', '--root', root, '--json', spec('zapp')], { env });
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.reasons.map((x: { class: string; soname: string }) => `${x.class} ${x.soname}`)).toEqual(['soname libz.so.1']);
    const run = runInRoot(root, '/app', [[join(dir, 'apps/zapp'), '/app']]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/libz\.so\.1: cannot open shared object file/);
  });

  it('the fast entry and oclif agree on check --root', () => {
    const fast = compat(['check', '--root', root, spec('hello')], { env });
    const slow = compat(['check', '--root', root, spec('hello')], { env: { ...env, COMPAT_NO_FASTPATH: '1' } });
    expect(fast.status).toBe(slow.status);
    expect(fast.stdout).toBe(slow.stdout);
  });

  it('a root that is not a directory is one line, exit 2', () => {
    expectOneLineError(compat(['host', 'scan', '--root', join(dir, 'nope')], { env }), /^compat: .*nope: .*not a directory/);
    expectOneLineError(compat(['check', '--root', spec('site'), spec('site')], { env }), /^compat: .*site\.json: .*not a directory/);
  });

  it('the index of a root is kept apart from the node’s own', () => {
    expect(compat(['host', 'scan'], { env }).status).toBe(0);
    const own = JSON.parse(readFileSync(join(dir, 'cache/compat/host-index.json'), 'utf8'));
    expect(own.root).toBeUndefined();
    expect(own.glibc).not.toBe('GLIBC_2.28');
  });
});

describe('compat serve --root', () => {
  it("answers for the root it was given, as check --root does", async () => {
    const { spawnServer } = await import('../service/server-process.js');
    const { checkRemote } = await import('../../src/service/client.js');
    const dir = tempDir();
    const env = isolatedEnv(dir);
    const root = makeRoot(join(dir, 'old'), { libc: '2.28' });
    build(join(dir, 'hello'), '#include <stdio.h>\nint main(void){puts("hello");return 0;}', []);
    expect(compat(['gen', join(dir, 'hello'), '-o', join(dir, 'hello.json')], { env }).status).toBe(0);
    const server = await spawnServer(['--root', root, '--poll-interval', '0'], env);
    try {
      const r = await checkRemote(server.address, { payload: readFileSync(join(dir, 'hello.json'), 'utf8') });
      expect(r.status).toBe('SUCCESS');
      expect(r.compatible).toBe(false);
      expect(JSON.parse(r.payload).host.glibc).toBe('GLIBC_2.28');
      expect(JSON.parse(r.payload).reasons[0].message).toMatch(/GLIBC_2\.34 needed from libc\.so\.6/);
    } finally {
      server.kill();
      await server.exited();
    }
  });
});
