import { describe, expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compat, gcc, tempDir, writeTree } from '../helpers/fixtures.js';
import { buildProgram } from './native-fixtures.js';

interface SpecBinary {
  path: string;
  type: string;
  loadedAt?: string;
  needed: Array<{ soname: string }>;
}

describe('gen from a recorded run', () => {
  test('gen --from-trace: the program and what it dlopen()ed (loadedAt: runtime); check treats those like the rest', () => {
    const dir = tempDir();
    const fx = buildProgram(dir);
    // A second plugin that needs a library found only through LD_LIBRARY_PATH when recorded.
    writeTree(dir, { 'extra.c': 'int extra(void) { return 3; }\n', 'xplugin.c': 'int extra(void);\nint plugin(void) { return extra(); }\n', 'xlib/.keep': '' });
    gcc(dir, ['-shared', '-fPIC', '-o', 'xlib/libextra.so', 'extra.c']);
    gcc(dir, ['-shared', '-fPIC', '-o', 'plugins/xplugin.so', 'xplugin.c', '-Lxlib', '-lextra']);
    const both = `${fx.libpath}:${join(dir, 'xlib')}`;
    const log = join(dir, 'run.jsonl');
    const r = compat(['record', '--out', log, '--', fx.app, fx.data, join(dir, 'plugins', 'xplugin.so')], { env: { LD_LIBRARY_PATH: both } });
    expect([r.status, r.stderr]).toEqual([0, '']);

    const spec = join(dir, 'app.json');
    const g = compat(['gen', '--from-trace', log, '-o', spec]);
    expect(g.status).toBe(0);
    const s = JSON.parse(readFileSync(spec, 'utf8')) as { binaries: SpecBinary[] };
    const byPath = new Map(s.binaries.map((b) => [b.path, b]));
    expect(byPath.get('app')?.type).toBe('executable');
    expect(byPath.get('app')?.loadedAt).toBeUndefined();
    expect(byPath.get('plugins/xplugin.so')).toMatchObject({ type: 'library', loadedAt: 'runtime', needed: [{ soname: 'libextra.so' }] });
    expect(byPath.get('xlib/libextra.so')).toMatchObject({ loadedAt: 'runtime' });

    // The spec from `gen` of the program alone has no plugin: static reading cannot see it.
    const plain = JSON.parse(compat(['gen', fx.app]).stdout) as { binaries: SpecBinary[] };
    expect(plain.binaries.map((b) => b.path).filter((p) => p.startsWith('plugins/') || p.startsWith('xlib/'))).toEqual([]);

    // check: the runtime library's need is checked like any other.
    const ok = compat(['check', spec], { env: { LD_LIBRARY_PATH: both } });
    expect(ok.status).toBe(0);
    // Programs named after the logs select the process that ran them.
    const named = compat(['gen', '--from-trace', log, fx.app, '-o', join(dir, 'named.json')]);
    expect([named.status, named.stderr]).toEqual([0, expect.stringContaining('wrote')]);
    // The same spec on a node where libextra.so is nowhere: the runtime plugin's need fails the check.
    const gen2 = join(dir, 'no-extra.json');
    const cut = { ...s, binaries: s.binaries.filter((b) => b.path !== 'xlib/libextra.so') };
    writeFileSync(gen2, JSON.stringify(cut));
    const bad = compat(['check', '--json', gen2], { env: { LD_LIBRARY_PATH: fx.libpath } });
    expect(bad.status).toBe(1);
    const reasons = JSON.parse(bad.stdout).reasons as Array<{ soname?: string; binary: string }>;
    expect(reasons.some((x) => x.soname === 'libextra.so' && x.binary.endsWith('xplugin.so'))).toBe(true);
  });

  test('gen --run -- CMD records and describes in one step', () => {
    const dir = tempDir();
    const fx = buildProgram(dir);
    const r = compat(['gen', '--run', '--', fx.app, fx.data, join(dir, 'plugins', 'plugin.so')], { env: { LD_LIBRARY_PATH: fx.libpath } });
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as { binaries: SpecBinary[] };
    expect(s.binaries.filter((b) => b.loadedAt === 'runtime').map((b) => b.path).sort()).toEqual(['plugins/libdep.so', 'plugins/plugin.so']);
  });

  test('specs written before loadedAt still read', () => {
    const dir = tempDir();
    const fx = buildProgram(dir);
    const spec = join(dir, 'old.json');
    expect(compat(['gen', fx.app, '-o', spec]).status).toBe(0);
    expect(readFileSync(spec, 'utf8')).not.toContain('loadedAt');
    expect(compat(['check', spec], { env: { LD_LIBRARY_PATH: fx.libpath } }).status).toBe(0);
  });
});
