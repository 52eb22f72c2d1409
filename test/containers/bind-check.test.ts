import { beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compat, expectOneLineError, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { build, ldcache, makeRoot, MULTIARCH, runInRoot } from '../helpers/roots.js';

/**
 * `compat bind-check ROOT --lib HOST_PATH…`: may these host libraries be bound into the container?
 * A matrix of host libraries × container roots; every verdict is run inside the root with bwrap,
 * the host files bound where bind-check says, LD_LIBRARY_PATH set to the directories they are
 * bound in. Zero false "compatible"; every "not compatible" names the cause the loader gives.
 */

const REAL_LIBC = `${MULTIARCH}/libc.so.6`;

interface Verdict {
  compatible: boolean;
  reasons: Array<{ class: string; library?: string; message: string }>;
  inject: Array<{ host: string; target: string; neededBy: string }>;
  binds: Array<{ host: string; target: string }>;
  libraryPath: string[];
  glibcReplacement?: { needed: string; has?: string };
}

describe('bind-check: host libraries × container roots, verified by running inside', () => {
  let dir: string;
  let env: Record<string, string>;
  const roots: Record<string, string> = {};
  const libs: Record<string, string> = {};
  /** The symbol each library exports, which the probe program calls. */
  const entry: Record<string, string> = {};

  beforeAll(() => {
    dir = tempDir();
    env = isolatedEnv(dir);
    const H = join(dir, 'host');
    // Host side: libfabric with FABRIC_1.0 and FABRIC_1.2 in its own directory (the injection case).
    const fabMap = join(dir, 'fab.map');
    writeText(fabMap, 'FABRIC_1.0 { global: fi_old; local: *; };\nFABRIC_1.2 { global: fi_new2; } FABRIC_1.0;\n');
    build(join(H, 'fab/libfabric.so.1'), 'int fi_old(void){return 0;} int fi_new2(void){return 0;}', ['-shared', '-Wl,-soname,libfabric.so.1', `-Wl,--version-script=${fabMap}`], REAL_LIBC);
    const lib = (name: string, fn: string, src: string, args: string[] = []) => {
      libs[name] = build(join(H, 'lib', name), src, ['-shared', `-Wl,-soname,${name}`, '-Wl,-z,now', ...args], REAL_LIBC);
      entry[name] = fn;
    };
    lib('libplain.so.1', 'plain', 'int puts(const char*); void plain(void){puts("plain");}');
    lib('libnew.so.1', 'fresh', 'unsigned arc4random(void); int puts(const char*); void fresh(void){if(arc4random()) puts("fresh");}');
    lib('libmpi.so.12', 'mpi', 'int fi_new2(void); int puts(const char*); void mpi(void){if(!fi_new2()) puts("mpi");}', [join(H, 'fab/libfabric.so.1'), `-Wl,-rpath,${join(H, 'fab')}`]);
    lib('libsym.so.1', 'sym', 'void *memcpy(void*,const void*,unsigned long); int puts(const char*); void sym(void){char b[4]; memcpy(b,"sym",4); puts(b);}', ['-fno-builtin']);
    // Only a 32-bit build on the host; the probe links against a 64-bit stub of the same name.
    mkdirSync(join(H, 'lib32'), { recursive: true });
    libs['libthirty.so.1'] = join(H, 'lib32/libthirty.so.1');
    entry['libthirty.so.1'] = 'thirty';
    build(libs['libthirty.so.1'], 'void thirty(void){}', ['-m32', '-shared', '-nostdlib', '-Wl,-soname,libthirty.so.1']);
    build(join(dir, 'stub/libthirty.so.1'), 'void thirty(void){}', ['-shared', '-nostdlib', '-Wl,-soname,libthirty.so.1']);

    roots.host = makeRoot(join(dir, 'r-host'), { libc: 'host' });
    roots.old = makeRoot(join(dir, 'r-old'), { libc: '2.28' });
    roots.new = makeRoot(join(dir, 'r-new'), { libc: '2.36' });
    roots.shadow = makeRoot(join(dir, 'r-shadow'), { libc: '2.36' });
    // The shadow container's own libfabric (FABRIC_1.0, FABRIC_1.1) and a program of its own needing FABRIC_1.1.
    const shadowLibc = join(roots.shadow, MULTIARCH, 'libc.so.6');
    const oldFabMap = join(dir, 'oldfab.map');
    writeText(oldFabMap, 'FABRIC_1.0 { global: fi_old; local: *; };\nFABRIC_1.1 { global: fi_new; } FABRIC_1.0;\n');
    build(join(roots.shadow, 'usr/lib/x86_64-linux-gnu/libfabric.so.1'), 'int fi_old(void){return 0;} int fi_new(void){return 0;}', ['-shared', '-Wl,-soname,libfabric.so.1', `-Wl,--version-script=${oldFabMap}`], shadowLibc);
    build(join(roots.shadow, 'usr/bin/fabapp'), 'int fi_new(void); int puts(const char*); void exit(int); void _start(void){if(!fi_new()) puts("fabapp"); exit(0);}', [join(roots.shadow, 'usr/lib/x86_64-linux-gnu/libfabric.so.1')], shadowLibc);
    ldcache(roots.shadow);
  });

  /** A program of the container that loads `lib` (linked against the container's libc) and calls its entry. */
  const probe = (root: string, name: string): string => {
    const out = join(root, 'probe', name.replace(/\.so.*/, ''));
    const against = name === 'libthirty.so.1' ? join(dir, 'stub/libthirty.so.1') : libs[name]!;
    build(out, `void ${entry[name]}(void); void exit(int); void _start(void){${entry[name]}(); exit(0);}`, [against, '-Wl,--allow-shlib-undefined'], join(root, MULTIARCH, 'libc.so.6'));
    return `/probe/${name.replace(/\.so.*/, '')}`;
  };

  const cases: Array<[string, string, boolean, RegExp | null]> = [
    ['libplain.so.1', 'host', true, null],
    ['libplain.so.1', 'old', true, null],
    ['libplain.so.1', 'new', true, null],
    ['libplain.so.1', 'shadow', true, null],
    ['libnew.so.1', 'host', true, null],
    ['libnew.so.1', 'old', false, /GLIBC_2\.36/],
    ['libnew.so.1', 'new', true, null],
    ['libmpi.so.12', 'host', true, null],
    ['libmpi.so.12', 'old', true, null],
    ['libmpi.so.12', 'shadow', false, /FABRIC_1\.1/],
    ['libsym.so.1', 'host', true, null],
    ['libsym.so.1', 'old', false, /memcpy/],
    ['libsym.so.1', 'new', false, /memcpy/],
    ['libthirty.so.1', 'host', false, /class|32-bit/],
    ['libthirty.so.1', 'old', false, /class|32-bit/],
  ];

  it.each(cases)('%s into %s', (name, rootName, expected, cause) => {
    const root = roots[rootName]!;
    const r = compat(['bind-check', root, '--lib', libs[name]!, '--json'], { env });
    expect(r.stderr).toBe('');
    const v = JSON.parse(r.stdout) as Verdict;
    expect(r.status).toBe(v.compatible ? 0 : 1);
    const prog = probe(root, name);
    const binds = v.binds.map((b) => [b.host, b.target] as [string, string]);
    const ldpath = { LD_LIBRARY_PATH: v.libraryPath.join(':') };
    const run = runInRoot(root, prog, binds, ldpath);
    // The container's own programs, run with the same binds.
    const own = rootName === 'shadow' ? runInRoot(root, '/usr/bin/fabapp', binds, ldpath) : { status: 0, stderr: '' };
    const ranOk = run.status === 0 && own.status === 0;
    // Never a false "compatible".
    if (v.compatible) expect({ run: run.stderr, own: own.stderr, ok: ranOk }).toEqual({ run: '', own: '', ok: true });
    expect(v.compatible).toBe(expected);
    if (!expected) {
      expect(ranOk).toBe(false);
      const messages = v.reasons.map((x) => x.message).join('\n');
      expect(messages).toMatch(cause!);
      // The loader's own complaint names the same thing.
      expect(`${run.stderr}\n${own.stderr}`).toMatch(cause!.source.includes('class') ? /wrong ELF class|ELFCLASS32/ : cause!);
    }
  });

  it('brings the host libfabric along for libmpi (the minimal injection set), and says where', () => {
    const r = compat(['bind-check', roots.old!, '--lib', libs['libmpi.so.12']!, '--json'], { env });
    const v = JSON.parse(r.stdout) as Verdict;
    expect(v.inject).toEqual([{ host: join(dir, 'host/fab/libfabric.so.1'), target: join(dirname(libs['libmpi.so.12']!), 'libfabric.so.1'), neededBy: 'libmpi.so.12' }]);
    const text = compat(['bind-check', roots.old!, '--lib', libs['libmpi.so.12']!], { env });
    expect(text.stdout).toMatch(/inject .*libfabric\.so\.1/);
  });

  it('warns that glibc itself would have to be replaced, and does not offer to inject it', () => {
    const r = compat(['bind-check', roots.old!, '--lib', libs['libnew.so.1']!, '--json'], { env });
    const v = JSON.parse(r.stdout) as Verdict;
    expect(v.glibcReplacement).toEqual({ needed: 'GLIBC_2.36', has: 'GLIBC_2.28' });
    expect(v.inject).toEqual([]);
    const text = compat(['bind-check', roots.old!, '--lib', libs['libnew.so.1']!], { env });
    expect(text.stdout).toMatch(/warning: .*glibc itself would have to be replaced/);
  });

  it('bad input: one line, exit 2', () => {
    expectOneLineError(compat(['bind-check', roots.old!, '--lib', join(dir, 'nope.so')], { env }), /^compat: .*nope\.so: /);
    expectOneLineError(compat(['bind-check', join(dir, 'noroot'), '--lib', libs['libplain.so.1']!], { env }), /^compat: .*noroot: /);
  });
});

function writeText(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
