import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compat, expectOneLineError, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { makeLayeredImage, tarOf } from '../helpers/image.js';
import { build, ldcache, makeRoot, MULTIARCH, runInRoot } from '../helpers/roots.js';

/**
 * `compat compose A B … [--into ROOT]`: can these applications share one container? Each app is a
 * directory built here with gcc. Every "yes" is run: the base plus the merged set compose prints
 * (each file copied to its target), both apps started inside with bwrap. Every "no" is run too:
 * the naive merge (both apps' trees copied into /usr of the same base) makes one of them fail, and
 * the loader's own message names what compose named.
 */

interface Composed {
  compatible: boolean;
  interpreter?: string;
  base?: { root: string; glibc?: string };
  apps: Array<{ name: string; prefix: string; compatible: boolean; entryPoints: string[] }>;
  shared: Array<{ soname: string; apps: string[]; files: Array<{ path: string; from: string; apps: string[] }>; keptApart: boolean; conflict: boolean }>;
  files: Array<{ app: string; path: string; host?: string; target: string }>;
  needs: Array<{ soname: string; version: string; apps: string[] }>;
  reasons: Array<{ class: string; apps: string[]; soname?: string; version?: string; symbol?: string; files?: string[]; base?: boolean; message: string }>;
}

describe('compose: can these applications share one container?', () => {
  let dir: string;
  let env: Record<string, string>;
  const app: Record<string, string> = {};
  let hostRoot: string;
  let oldRoot: string;

  const writeText = (path: string, text: string) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  };
  /** libNAME.so.1 in `tree`/lib with a version script (or none), exporting `fns`. */
  const lib = (tree: string, soname: string, fns: string[], script?: string, libc?: string) => {
    const args = ['-shared', `-Wl,-soname,${soname}`];
    if (script !== undefined) {
      writeText(join(dir, `${soname}-${fns.join('-')}.map`), script);
      args.push(`-Wl,--version-script=${join(dir, `${soname}-${fns.join('-')}.map`)}`);
    }
    return build(join(tree, 'lib', soname), fns.map((f) => `int ${f}(void){return 7;}`).join(' '), args, libc);
  };
  /** bin/NAME calling `fn` from the library, printing NAME. */
  const exe = (tree: string, name: string, fn: string, against: string, extra: string[] = []) =>
    build(join(tree, 'bin', name), `#include <stdio.h>\nint ${fn}(void);\nint main(void){printf("${name} %d\\n", ${fn}());return 0;}`, [against, '-Wl,-z,now', ...extra]);

  beforeAll(() => {
    dir = tempDir();
    env = isolatedEnv(dir);
    const A = (n: string) => (app[n] = join(dir, 'apps', n));
    const FOO1 = 'FOO_1.0 { global: foo1; local: *; };\n';
    const FOO2 = 'FOO_2.0 { global: foo2; local: *; };\n';
    const FOO12 = 'FOO_1.0 { global: foo1; local: *; };\nFOO_2.0 { global: foo2; } FOO_1.0;\n';
    // Two different libfoo.so.1 on the search path (no RUNPATH): one defines FOO_1.0 only, the other FOO_2.0 only.
    exe(A('vera'), 'vera', 'foo1', lib(app.vera!, 'libfoo.so.1', ['foo1'], FOO1));
    exe(A('verb'), 'verb', 'foo2', lib(app.verb!, 'libfoo.so.1', ['foo2'], FOO2));
    // A symbol-only conflict: two unversioned libbar.so.1, each with the one function its program calls.
    exe(A('syma'), 'syma', 'bar_a', lib(app.syma!, 'libbar.so.1', ['bar_a']));
    exe(A('symb'), 'symb', 'bar_b', lib(app.symb!, 'libbar.so.1', ['bar_b']));
    // Sharing: the same libfoo (FOO_1.0 and FOO_2.0) in both trees; one app needs FOO_1.0, the other FOO_2.0.
    lib(A('sharea'), 'libfoo.so.1', ['foo1', 'foo2'], FOO12);
    mkdirSync(join(A('shareb'), 'lib'), { recursive: true });
    copyFileSync(join(app.sharea!, 'lib/libfoo.so.1'), join(app.shareb!, 'lib/libfoo.so.1'));
    exe(app.sharea!, 'sharea', 'foo1', join(app.sharea!, 'lib/libfoo.so.1'));
    exe(app.shareb!, 'shareb', 'foo2', join(app.shareb!, 'lib/libfoo.so.1'));
    // Kept apart: the two different libfoo again, each found through its program's $ORIGIN RUNPATH.
    exe(A('origa'), 'origa', 'foo1', lib(app.origa!, 'libfoo.so.1', ['foo1'], FOO1), ['-Wl,-rpath,$ORIGIN/../lib']);
    exe(A('origb'), 'origb', 'foo2', lib(app.origb!, 'libfoo.so.1', ['foo2'], FOO2), ['-Wl,-rpath,$ORIGIN/../lib']);
    // An i386 program: another interpreter.
    build(join(A('m32'), 'bin', 'm32'), '#include <stdio.h>\nint main(void){puts("m32");return 0;}', ['-m32']);

    hostRoot = makeRoot(join(dir, 'r-host'), { libc: 'host' });
    oldRoot = makeRoot(join(dir, 'r-old'), { libc: '2.28' });
    // Programs for the glibc 2.28 base: linked against its stand-in libc (their own _start), sharing one libfoo.
    const oldLibc = join(oldRoot, MULTIARCH, 'libc.so.6');
    const start = (name: string, fn: string) => `int ${fn}(void); int puts(const char*); void exit(int); void _start(void){if(${fn}()==7) puts("${name}"); exit(0);}`;
    const oldFoo = lib(A('olda'), 'libfoo.so.1', ['foo1', 'foo2'], FOO12, oldLibc);
    mkdirSync(join(A('oldb'), 'lib'), { recursive: true });
    copyFileSync(oldFoo, join(app.oldb!, 'lib/libfoo.so.1'));
    build(join(app.olda!, 'bin/olda'), start('olda', 'foo1'), [oldFoo], oldLibc);
    build(join(app.oldb!, 'bin/oldb'), start('oldb', 'foo2'), [oldFoo], oldLibc);
    // An ordinary program of this machine: needs GLIBC_2.34 (__libc_start_main).
    build(join(A('newc'), 'bin', 'newc'), '#include <stdio.h>\nint main(void){puts("newc");return 0;}', []);
  });

  const compose = (args: string[]) => {
    const r = compat(['compose', ...args, '--json'], { env });
    expect(r.stderr).toBe('');
    const v = JSON.parse(r.stdout) as Composed;
    expect(r.status).toBe(v.compatible ? 0 : 1);
    return v;
  };

  /** The base plus the merged set, each file at its target; then every entry point run inside. */
  const runMerged = (base: string, v: Composed) => {
    const root = join(dir, `merged-${Math.random().toString(36).slice(2)}`);
    execFileSync('cp', ['-a', base, root]);
    for (const f of v.files) {
      expect(f.host).toBeDefined();
      mkdirSync(join(root, dirname(f.target)), { recursive: true });
      copyFileSync(f.host!, join(root, f.target));
    }
    const runs = v.apps.flatMap((a) => a.entryPoints.map((p) => ({ p, ...runInRoot(root, p) })));
    rmSync(root, { recursive: true, force: true });
    return runs;
  };

  /** The naive merge: each app's tree copied into /usr of the base (bin → /usr/bin, lib → /usr/lib), in this order. */
  const runNaive = (base: string, names: string[]) => {
    const root = join(dir, `naive-${Math.random().toString(36).slice(2)}`);
    execFileSync('cp', ['-a', base, root]);
    for (const n of names) cpSync(app[n]!, join(root, 'usr'), { recursive: true, filter: (src) => !src.endsWith('.c') });
    const runs = names.map((n) => ({ n, ...runInRoot(root, `/usr/bin/${n}`) }));
    rmSync(root, { recursive: true, force: true });
    return runs;
  };

  it('two different libfoo.so.1 on one search path (FOO_1.0 only vs FOO_2.0 only): no, both files and what each side lacks named', () => {
    const v = compose([app.vera!, app.verb!]);
    expect(v.compatible).toBe(false);
    const r = v.reasons.find((x) => x.soname === 'libfoo.so.1')!;
    expect(r).toBeDefined();
    expect(r.class).toBe('version');
    expect(r.apps.sort()).toEqual(['vera', 'verb']);
    expect(r.files).toEqual([join(app.vera!, 'lib/libfoo.so.1'), join(app.verb!, 'lib/libfoo.so.1')]);
    expect(r.message).toMatch(/FOO_1\.0/);
    expect(r.message).toMatch(/FOO_2\.0/);
    expect(r.message).toMatch(/one search path/);
    expect(v.shared.find((x) => x.soname === 'libfoo.so.1')!.conflict).toBe(true);
    // The naive merge, both orders: the app whose libfoo was replaced stops, and the loader names the version.
    const ab = runNaive(hostRoot, ['vera', 'verb']);
    expect(ab.find((x) => x.n === 'verb')!.stdout).toBe('verb 7\n');
    expect(ab.find((x) => x.n === 'vera')!.status).not.toBe(0);
    expect(ab.find((x) => x.n === 'vera')!.stderr).toMatch(/version `FOO_1\.0' not found \(required by \/usr\/bin\/vera\)/);
    const ba = runNaive(hostRoot, ['verb', 'vera']);
    expect(ba.find((x) => x.n === 'verb')!.stderr).toMatch(/version `FOO_2\.0' not found \(required by \/usr\/bin\/verb\)/);
  });

  it('two unversioned libbar.so.1, each with only the symbol its program calls: no, the symbols named', () => {
    const v = compose([app.syma!, app.symb!]);
    expect(v.compatible).toBe(false);
    const r = v.reasons.find((x) => x.soname === 'libbar.so.1')!;
    expect(r.class).toBe('symbol');
    expect(r.message).toMatch(/bar_a/);
    expect(r.message).toMatch(/bar_b/);
    const naive = runNaive(hostRoot, ['syma', 'symb']);
    expect(naive.find((x) => x.n === 'syma')!.stderr).toMatch(/symbol lookup error: .*undefined symbol: bar_a/);
  });

  it('the same libfoo in both trees satisfies both: yes, one file on the search path, and both run in the merged root', () => {
    const v = compose([app.sharea!, app.shareb!]);
    expect(v.reasons).toEqual([]);
    expect(v.compatible).toBe(true);
    expect(v.interpreter).toBe('/lib64/ld-linux-x86-64.so.2');
    const s = v.shared.find((x) => x.soname === 'libfoo.so.1')!;
    expect(s.keptApart).toBe(false);
    expect(s.files).toHaveLength(1);
    expect(s.files[0]!.apps.sort()).toEqual(['sharea', 'shareb']);
    const runs = runMerged(hostRoot, v);
    expect(runs.map((x) => [x.status, x.stdout, x.stderr])).toEqual([
      [0, 'sharea 7\n', ''],
      [0, 'shareb 7\n', ''],
    ]);
  });

  it('of two different libfoo, one satisfies both (FOO_1.0 and FOO_2.0 against FOO_1.0 only): yes, that one is chosen', () => {
    const v = compose([app.vera!, app.shareb!]);
    expect(v.compatible).toBe(true);
    const s = v.shared.find((x) => x.soname === 'libfoo.so.1')!;
    expect(s.files.map((f) => f.from)).toEqual(['shareb']);
    const runs = runMerged(hostRoot, v);
    expect(runs.map((x) => [x.status, x.stdout])).toEqual([
      [0, 'vera 7\n'],
      [0, 'shareb 7\n'],
    ]);
  });

  it('two different libfoo, each behind its own $ORIGIN RUNPATH: kept apart, yes, and both run', () => {
    const v = compose([app.origa!, app.origb!]);
    expect(v.reasons).toEqual([]);
    expect(v.compatible).toBe(true);
    const s = v.shared.find((x) => x.soname === 'libfoo.so.1')!;
    expect(s.keptApart).toBe(true);
    expect(s.files.map((f) => f.path).sort()).toEqual(['/opt/origa/lib/libfoo.so.1', '/opt/origb/lib/libfoo.so.1']);
    const runs = runMerged(hostRoot, v);
    expect(runs.map((x) => [x.status, x.stdout])).toEqual([
      [0, 'origa 7\n'],
      [0, 'origb 7\n'],
    ]);
  });

  it('an i386 program and an x86_64 one: two interpreters, no', () => {
    const v = compose([app.m32!, app.sharea!]);
    expect(v.compatible).toBe(false);
    const r = v.reasons.find((x) => x.class === 'interpreter')!;
    expect(r.message).toMatch(/\/lib\/ld-linux\.so\.2/);
    expect(r.message).toMatch(/\/lib64\/ld-linux-x86-64\.so\.2/);
    expect(r.message).toMatch(/ELFCLASS32/);
    // In the naive merge the container's one loader refuses the i386 program, in its own words.
    const root = join(dir, 'naive-m32');
    execFileSync('cp', ['-a', hostRoot, root]);
    cpSync(app.m32!, join(root, 'usr'), { recursive: true });
    const run = runInRootArgs(root, ['/usr/bin/m32']);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/No such file or directory/);
    const viaLoader = runInRootArgs(root, ['/lib64/ld-linux-x86-64.so.2', '/usr/bin/m32']);
    expect(viaLoader.stderr).toMatch(/wrong ELF class: ELFCLASS32/);
    rmSync(root, { recursive: true, force: true });
  });

  it('--into a glibc 2.28 root: an app needing GLIBC_2.34 is a shortfall of the base, as the loader says inside', () => {
    const v = compose([app.olda!, app.newc!, '--into', oldRoot]);
    expect(v.compatible).toBe(false);
    expect(v.base).toEqual({ root: oldRoot, glibc: 'GLIBC_2.28' });
    const r = v.reasons.find((x) => x.version === 'GLIBC_2.34')!;
    expect(r).toMatchObject({ class: 'version', base: true, apps: ['newc'], soname: 'libc.so.6' });
    expect(r.message).toMatch(/GLIBC_2\.34 needed .*has up to GLIBC_2\.28/);
    expect(v.needs.find((n) => n.soname === 'libc.so.6')).toEqual({ soname: 'libc.so.6', version: 'GLIBC_2.34', apps: ['newc'] });
    const naive = runNaive(oldRoot, ['olda', 'newc']);
    expect(naive.find((x) => x.n === 'olda')!.stdout).toBe('olda\n');
    expect(naive.find((x) => x.n === 'newc')!.stderr).toMatch(/version `GLIBC_2\.34' not found/);
  });

  it('--into a glibc 2.28 root: two apps built for it, sharing libfoo: yes, and both run in the merged root', () => {
    const v = compose([app.olda!, app.oldb!, '--into', oldRoot]);
    expect(v.reasons).toEqual([]);
    expect(v.compatible).toBe(true);
    expect(v.needs.find((n) => n.soname === 'libc.so.6')?.version).toBe('GLIBC_2.2.5');
    const runs = runMerged(oldRoot, v);
    expect(runs.map((x) => [x.status, x.stdout, x.stderr])).toEqual([
      [0, 'olda\n', ''],
      [0, 'oldb\n', ''],
    ]);
  });

  it('--into an image (an OCI layout of the same 2.28 root): the same answer, the image named as the base', async () => {
    const image = await makeLayeredImage('old', [{ tar: tarOf(oldRoot) }]);
    const v = compose([app.olda!, app.newc!, '--oci-layout', '--into', `${image.layout}:old`]);
    expect(v.compatible).toBe(false);
    expect(v.base).toEqual({ root: `${image.layout}:old`, glibc: 'GLIBC_2.28' });
    expect(v.reasons.map((x) => `${x.class} ${x.version} ${x.apps.join(',')} ${x.base}`)).toEqual(['version GLIBC_2.34 newc true']);
    const yes = compose([app.olda!, app.oldb!, '--oci-layout', '--into', `${image.layout}:old`]);
    expect(yes.compatible).toBe(true);
  });

  it("--into a root whose own libfoo (FOO_1.0 only, in its cache) the loader finds first: the copy that serves both replaces it, with a warning", () => {
    const base = join(dir, 'r-foo');
    execFileSync('cp', ['-a', hostRoot, base]);
    copyFileSync(join(app.vera!, 'lib/libfoo.so.1'), join(base, 'usr/lib/x86_64-linux-gnu/libfoo.so.1'));
    ldcache(base);
    const r = compat(['compose', app.vera!, app.shareb!, '--into', base, '--json'], { env });
    const v = JSON.parse(r.stdout) as Composed & { warnings: Array<{ message: string }> };
    expect(v.compatible).toBe(true);
    expect(v.files.find((f) => f.target === '/usr/lib/x86_64-linux-gnu/libfoo.so.1')?.app).toBe('shareb');
    expect(v.warnings.map((w) => w.message).join('\n')).toMatch(/replaces the base's \/usr\/lib\/x86_64-linux-gnu\/libfoo\.so\.1/);
    // Without the replacement, shareb stops on the base's libfoo; with the merged set both run.
    const kept = runMerged(base, { ...v, files: v.files.filter((f) => f.target.startsWith('/opt/')) });
    expect(kept.find((x) => x.p === '/opt/shareb/bin/shareb')!.stderr).toMatch(/version `FOO_2\.0' not found/);
    const runs = runMerged(base, v);
    expect(runs.map((x) => [x.status, x.stdout])).toEqual([
      [0, 'vera 7\n'],
      [0, 'shareb 7\n'],
    ]);
    const without = compose([app.vera!, app.verb!, '--into', base]);
    expect(without.compatible).toBe(false);
    expect(without.reasons[0]!.files).toContain('/usr/lib/x86_64-linux-gnu/libfoo.so.1');
  });

  it('takes specs as well as directories, with the same answer', () => {
    for (const n of ['vera', 'verb']) expect(compat(['gen', app[n]!, '-o', join(dir, `${n}.json`)], { env }).status).toBe(0);
    const v = compose([join(dir, 'vera.json'), join(dir, 'verb.json')]);
    expect(v.compatible).toBe(false);
    expect(v.reasons.map((x) => `${x.class} ${x.soname}`)).toEqual(['version libfoo.so.1']);
    // Without the files, the merged set names paths inside each app instead of host paths.
    expect(v.files.every((f) => f.host === undefined)).toBe(true);
  });

  it('prints a short answer without --json', () => {
    const r = compat(['compose', app.origa!, app.origb!], { env });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/can share one container/);
    expect(r.stdout).toMatch(/libfoo\.so\.1: kept apart/);
    const no = compat(['compose', app.vera!, app.verb!], { env });
    expect(no.status).toBe(1);
    expect(no.stdout).toMatch(/cannot share one container/);
  });

  it('bad input: one line, exit 2', () => {
    expectOneLineError(compat(['compose', app.vera!, join(dir, 'nope')], { env }), /^compat: .*nope: /);
    expectOneLineError(compat(['compose', app.vera!, app.verb!, '--into', join(dir, 'noroot')], { env }), /^compat: .*noroot: /);
    expectOneLineError(compat(['compose', app.vera!], { env }), /^compat: .*at least two/);
  });
});

/** bwrap with an argument vector (runInRoot runs a single program). */
function runInRootArgs(root: string, argv: string[]) {
  const r = spawnSync('bwrap', ['--bind', root, '/', '--dev', '/dev', '--proc', '/proc', '--', ...argv], { encoding: 'utf8', timeout: 10000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
