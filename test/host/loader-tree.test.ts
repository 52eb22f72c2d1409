import { beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkSpec } from '../../src/artifact/check-spec.js';
import { generateSpec } from '../../src/artifact/gen.js';
import { type HostIndex, scanHost } from '../../src/host/host-index.js';
import { compat, gcc, runBinary, tempDir } from '../helpers/fixtures.js';

/**
 * test/fixtures/loader/tree-loader-path: a tree described the way it runs. Every program of it is
 * run for real; the check of its `gen` spec must say what those runs did.
 */
const FIXTURE = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'fixtures', 'loader', 'tree-loader-path');

let dir: string;
let tree: string;
let index: HostIndex;

beforeAll(() => {
  dir = tempDir();
  for (const f of readdirSync(FIXTURE)) copyFileSync(join(FIXTURE, f), join(dir, f));
  index = scanHost({ indexFile: join(dir, 'index.json') });
  tree = join(dir, 'tree');
  for (const d of ['tree/private', 'tree/plugins', 'gone', 'outside']) mkdirSync(join(dir, d), { recursive: true });
  gcc(dir, ['-shared', '-fPIC', '-o', 'tree/private/libshared.so.1', '-Wl,-soname,libshared.so.1', 'shared.c']);
  // libcore needs its sibling and carries no search path of its own: its real loader supplies one.
  gcc(dir, ['-shared', '-fPIC', '-o', 'tree/private/libcore.so.1', '-Wl,-soname,libcore.so.1', 'core.c', 'tree/private/libshared.so.1']);
  // As systemd does: the program names both libraries, so the sibling is loaded before libcore's need is looked up.
  gcc(dir, ['-o', 'outside/daemon', 'daemon.c', '-Wl,--no-as-needed', 'tree/private/libcore.so.1', 'tree/private/libshared.so.1', `-Wl,-rpath,${tree}/private`, '-Wl,--enable-new-dtags']);
  // The plugin's transport library exists nowhere on the node.
  gcc(dir, ['-shared', '-fPIC', '-o', 'gone/libtransport.so.1', '-Wl,-soname,libtransport.so.1', 'transport.c']);
  gcc(dir, ['-shared', '-fPIC', '-o', 'tree/plugins/libplugin.so', 'plugin.c', 'gone/libtransport.so.1']);
  rmSync(join(dir, 'gone'), { recursive: true });
  gcc(dir, ['-o', 'outside/host', 'host.c']);
  // An entry point of the tree that reaches libshared through $ORIGIN.
  gcc(dir, ['-o', 'tree/helper', 'helper.c', 'tree/private/libshared.so.1', '-Wl,-rpath,$ORIGIN/private']);
  // A module whose first line looks like a script's, without an execute bit, and a real script.
  writeFileSync(join(tree, 'Module.pm'), '#! perl\npackage Module;\n1;\n', { mode: 0o644 });
  writeFileSync(join(tree, 'run-me.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(tree, 'run-me.sh'), 0o755);
});

describe('a tree described the way it runs', () => {
  it('the real runs: the sibling loads through the loader outside the tree; the plugin does not; the module is no program', () => {
    expect(runBinary(join(dir, 'outside/daemon'))).toMatchObject({ status: 0, stdout: '43\n' });
    const plugin = runBinary2(join(dir, 'outside/host'), [join(tree, 'plugins/libplugin.so')]);
    expect(plugin.status).toBe(1);
    expect(plugin.stderr).toContain('libtransport.so.1: cannot open shared object file');
    const module = spawnSync(join(tree, 'Module.pm'));
    expect((module.error as NodeJS.ErrnoException | undefined)?.code).toBe('EACCES');
    expect(runBinary(join(tree, 'run-me.sh')).stdout).toBe('hi\n');
    expect(runBinary(join(tree, 'helper')).stdout).toBe('42\n');
  });

  it('gen: only files with an execute bit are programs', () => {
    const spec = generateSpec([tree]);
    expect(spec.binaries.map((b) => b.path)).not.toContain('Module.pm');
    expect(spec.binaries.find((b) => b.path === 'run-me.sh')).toMatchObject({ type: 'executable', linkage: 'script', interpreter: '/bin/sh' });
  });

  it('check: a need present in the tree is a warning, a need found nowhere a failure; entry points and what they reach are named', () => {
    const report = checkSpec(generateSpec([tree]), index);
    expect(report.compatible).toBe(false);
    expect(report.reasons).toEqual([expect.objectContaining({ class: 'soname', kind: 'missing-library', binary: 'plugins/libplugin.so', soname: 'libtransport.so.1' })]);
    expect(report.warnings).toEqual([expect.objectContaining({ class: 'soname', kind: 'missing-library', binary: 'private/libcore.so.1', soname: 'libshared.so.1' })]);
    expect(report.warnings[0]!.message).toBe("private/libcore.so.1: libshared.so.1 found in the tree only through its loader's search path (private/libshared.so.1)");
    const role = Object.fromEntries(report.binaries.map((b) => [b.path, b.role]));
    expect(role).toEqual({ helper: 'entry-point', 'run-me.sh': 'entry-point', 'private/libcore.so.1': 'library', 'plugins/libplugin.so': 'library' });
    expect(report.reached).toEqual(['private/libshared.so.1']);
  });

  it('without the plugin the tree is compatible, with the warning kept', () => {
    const copy = generateSpec([tree]);
    copy.binaries = copy.binaries.filter((b) => !b.path.startsWith('plugins/'));
    const report = checkSpec(copy, index);
    expect(report.reasons).toEqual([]);
    expect(report.compatible).toBe(true);
    expect(report.warnings).toHaveLength(1);
  });

  it('the CLI prints the warning on its own line, the fast entry as oclif does; --json has roles and warnings', () => {
    const spec = generateSpec([tree]);
    spec.binaries = spec.binaries.filter((b) => !b.path.startsWith('plugins/'));
    const file = join(dir, 'tree.json');
    writeFileSync(file, JSON.stringify(spec));
    const env = { XDG_CACHE_HOME: join(dir, 'cache') };
    const fast = compat(['check', file], { env });
    const slow = compat(['check', file], { env: { ...env, COMPAT_NO_FASTPATH: '1' } });
    expect(fast.status).toBe(0);
    expect(fast.stdout.split('\n')[1]).toBe("  warning: private/libcore.so.1: libshared.so.1 found in the tree only through its loader's search path (private/libshared.so.1)");
    expect([slow.status, slow.stdout, slow.stderr]).toEqual([fast.status, fast.stdout, fast.stderr]);
    const json = JSON.parse(compat(['check', '--json', file], { env }).stdout);
    expect(json.warnings).toHaveLength(1);
    expect(json.reached).toEqual(['private/libshared.so.1']);
    expect(json.binaries.find((b: { path: string }) => b.path === 'helper').role).toBe('entry-point');
  });

  it('gen /usr/lib/x86_64-linux-gnu then check, on the machine it came from: compatible', () => {
    const spec = generateSpec(['/usr/lib/x86_64-linux-gnu'], { onUnreadable: () => {} });
    const report = checkSpec(spec, index);
    expect(report.reasons).toEqual([]);
    expect(report.compatible).toBe(true);
    expect(report.binaries.some((b) => b.role === 'entry-point')).toBe(true);
  });
});

function runBinary2(path: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(path, args, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 10000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
