import { beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkSpec } from '../../src/artifact/check-spec.js';
import { generateSpec } from '../../src/artifact/gen.js';
import type { CheckReport } from '../../src/host/check.js';
import { dependencyReport } from '../../src/host/deps.js';
import { type HostIndex, scanHost } from '../../src/host/host-index.js';
import { parsePreloadFile, splitPreloadList } from '../../src/host/loader.js';
import { compat, gcc, tempDir } from '../helpers/fixtures.js';
import { loaderFixture } from '../helpers/loader-fixture.js';

/** The working directory and preloads: each case runs for real and compat must agree. */
let index: HostIndex;
beforeAll(() => {
  index = scanHost({ indexFile: join(tempDir(), 'index.json') });
});

function runIn(cwd: string, path: string, env: Record<string, string> = {}) {
  const r = spawnSync(path, [], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 10000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const check = (app: string, env: { cwd: string; ld?: string; preload?: string; preloadFile?: string | null }): CheckReport =>
  checkSpec(generateSpec([app]), index, env.ld, { cwd: env.cwd, preload: env.preload, preloadFile: env.preloadFile ?? null });

describe('the working directory (fillin_rpath, a relative DT_NEEDED name)', () => {
  let d: string;
  beforeAll(() => {
    d = loaderFixture('cwd-relative');
    mkdirSync(join(d, 'run/lib'), { recursive: true });
    gcc(d, ['-shared', '-fPIC', '-o', 'run/lib/libw.so.1', 'libw.c']);
    // No DT_SONAME: the link records the relative path it was given.
    gcc(d, ['-o', 'relneeded', 'app.c', 'run/lib/libw.so.1']);
    gcc(d, ['-shared', '-fPIC', '-o', 'libw.so.1', 'libw.c', '-Wl,-soname,libw.so.1']);
    gcc(d, ['-o', 'emptyrunpath', 'app.c', 'libw.so.1', '-Wl,-rpath,/nonexistent:']);
    gcc(d, ['-o', 'plain', 'app.c', 'libw.so.1']);
    rmSync(join(d, 'libw.so.1'));
  });

  it.each([
    ['a relative DT_NEEDED path', 'relneeded', '', '.', 'run'],
    ['an empty RUNPATH element', 'emptyrunpath', '', 'run/lib', 'run'],
    ['an empty LD_LIBRARY_PATH element (a trailing colon)', 'plain', '/nonexistent:', 'run/lib', 'run'],
    ['an empty LD_LIBRARY_PATH element (a::b)', 'plain', '/nonexistent::/nonexistent2', 'run/lib', 'run'],
    ['a relative LD_LIBRARY_PATH element', 'plain', 'lib', 'run', '.'],
  ])('%s resolves against where the program runs', (_what, exe, ld, good, bad) => {
    const env: Record<string, string> = ld ? { LD_LIBRARY_PATH: ld } : {};
    const app = join(d, exe);
    expect(runIn(join(d, good), app, env).stdout).toBe('4\n');
    expect(runIn(join(d, bad), app, env).status).not.toBe(0);

    const ok = check(app, { cwd: join(d, good), ld: ld || undefined });
    expect(ok.reasons).toEqual([]);
    expect(ok.compatible).toBe(true);
    expect(ok.notes).toEqual([expect.objectContaining({ class: 'environment', message: expect.stringMatching(/searched for libw\.so\.1|searched for run\/lib\/libw\.so\.1/) })]);
    expect(ok.notes![0]!.message).toContain('depends on the working directory');
    const no = check(app, { cwd: join(d, bad), ld: ld || undefined });
    expect(no.compatible).toBe(false);
    expect(no.reasons).toEqual([expect.objectContaining({ kind: 'missing-library' })]);

    expect(dependencyReport(app, { ldLibraryPath: ld || undefined, cwd: join(d, good), preloadFile: null }).missing).toEqual([]);
    expect(dependencyReport(app, { ldLibraryPath: ld || undefined, cwd: join(d, bad), preloadFile: null }).missing).toHaveLength(1);
  });

  it('compat check --cwd and the process working directory give the same answer, on both CLI entries', () => {
    const spec = join(d, 'relneeded.json');
    expect(compat(['gen', '-o', spec, join(d, 'relneeded')]).status).toBe(0);
    const env = { XDG_CACHE_HOME: join(d, 'cache') };
    expect(compat(['check', '--cwd', d, spec], { env }).status).toBe(0);
    expect(compat(['check', spec], { env, cwd: d }).status).toBe(0);
    const elsewhere = compat(['check', '--json', '--cwd', join(d, 'run'), spec], { env });
    expect(elsewhere.status).toBe(1);
    // Through oclif (a flag the fast entry does not take sends it there).
    expect(compat(['check', '--cwd', join(d, 'run'), '--oci-layout', join(d, 'nope'), spec], { env }).status).toBe(2);
    expect(compat(['check', '--cwd', join(d, 'missing-dir'), spec], { env }).stderr).toContain('--cwd');
  });
});

describe('preloads (do_preload, handle_preload_list)', () => {
  let d: string;
  beforeAll(() => {
    d = loaderFixture('preload');
    gcc(d, ['-shared', '-fPIC', '-o', 'libpredep.so', 'libpredep.c', '-Wl,-soname,libpredep.so']);
    gcc(d, ['-shared', '-fPIC', '-o', 'libpre.so', 'libpre.c', '-L.', '-lpredep', '-Wl,-rpath,$ORIGIN']);
    mkdirSync(join(d, 'nodep'));
    gcc(d, ['-shared', '-fPIC', '-o', 'nodep/libpre.so', 'libpre.c', '-L.', '-lpredep']);
    gcc(d, ['-o', 'app', 'app.c']);
  });

  it('splits LD_PRELOAD on spaces and colons, and reads ld.so.preload with # comments', () => {
    expect(splitPreloadList('a.so b.so:c.so  ')).toEqual(['a.so', 'b.so', 'c.so']);
    expect(parsePreloadFile('# comment\n/lib/a.so  /lib/b.so # trailing\n:/lib/c.so\n')).toEqual(['/lib/a.so', '/lib/b.so', '/lib/c.so']);
  });

  it('a preload that exists loads first', () => {
    const pre = join(d, 'libpre.so');
    expect(runIn(d, join(d, 'app'), { LD_PRELOAD: pre }).stdout).toBe('pre 9\napp\n');
    const r = dependencyReport(join(d, 'app'), { preload: pre, preloadFile: null });
    // Mapped right after the executable (and its interpreter), before any DT_NEEDED entry.
    expect(r.trace!.objects.slice(0, 3).map((o) => [o.path, o.tag, o.neededBy])).toEqual([
      [join(d, 'app'), undefined, null],
      ['/lib64/ld-linux-x86-64.so.2', undefined, null],
      [pre, 'preload', join(d, 'app')],
    ]);
    expect(r.libraries.map((l) => l.path)).toContain(join(d, 'libpredep.so'));
    expect(check(join(d, 'app'), { cwd: d, preload: pre }).reasons).toEqual([]);
  });

  it('a preload that cannot be found is ignored with a message', () => {
    const run = runIn(d, join(d, 'app'), { LD_PRELOAD: 'libnothere.so' });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain("object 'libnothere.so' from LD_PRELOAD cannot be preloaded");
    const report = check(join(d, 'app'), { cwd: d, preload: 'libnothere.so' });
    expect(report.compatible).toBe(true);
    expect(report.notes).toEqual([expect.objectContaining({ class: 'environment', message: expect.stringContaining('libnothere.so from LD_PRELOAD cannot be preloaded') })]);
  });

  it('a preload whose own needs are missing stops the program, from LD_PRELOAD or the preload file', () => {
    const pre = join(d, 'nodep/libpre.so');
    const run = runIn(d, join(d, 'app'), { LD_PRELOAD: pre });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('libpredep.so: cannot open shared object file');
    expect(check(join(d, 'app'), { cwd: d, preload: pre }).reasons).toEqual([expect.objectContaining({ kind: 'missing-library', soname: 'libpredep.so' })]);
    // The node's /etc/ld.so.preload is read the same way (the file is injectable so the test need not write /etc).
    const file = join(d, 'ld.so.preload');
    writeFileSync(file, `# the node's preloads\n${pre}\n`);
    expect(check(join(d, 'app'), { cwd: d, preloadFile: file }).reasons).toEqual([expect.objectContaining({ kind: 'missing-library', soname: 'libpredep.so' })]);
    writeFileSync(file, `${join(d, 'gone.so')}\n`);
    expect(check(join(d, 'app'), { cwd: d, preloadFile: file }).notes).toEqual([expect.objectContaining({ message: expect.stringContaining(`from ${file} cannot be preloaded`) })]);
  });
});
