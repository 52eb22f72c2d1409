import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LABEL_PREFIX, labelName } from '../../src/artifact/labels.js';
import { compat, compatAsync, tempDir } from '../helpers/fixtures.js';

describe('label names', () => {
  it.each([
    ['registry.example.org/apps/xz:compat', 'apps.xz.compat'],
    ['127.0.0.1:5000/team/solver@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', 'team.solver.0123456789ab'],
    ['./layout:app', 'layout.app'],
  ])('%s -> %s', (ref, name) => {
    expect(labelName(ref)).toBe(name);
  });

  it('stays a valid Kubernetes label name however long the reference', () => {
    const long = `registry.example.org/${'very-long-path/'.repeat(10)}app:${'t'.repeat(100)}`;
    const n = labelName(long);
    expect(n.length).toBeLessThanOrEqual(63);
    expect(n).toMatch(/^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/);
    expect(labelName(`${long}x`)).not.toBe(n);
  });
});

describe('compat host labels', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    dir = tempDir();
    env = { XDG_CACHE_HOME: join(dir, 'cache'), XDG_DATA_HOME: join(dir, 'data') };
    expect(compat(['gen', '/usr/bin/xz', '-o', join(dir, 'xz.json')]).status).toBe(0);
    const spec = JSON.parse(readFileSync(join(dir, 'xz.json'), 'utf8'));
    spec.binaries[0].needed.find((n: { soname: string }) => n.soname === 'libc.so.6').versions.push('GLIBC_2.99');
    writeFileSync(join(dir, 'future.json'), JSON.stringify(spec));
    for (const [tag, file] of [['xz', 'xz.json'], ['future', 'future.json']]) {
      expect(compat(['push', '--oci-layout', `${join(dir, 'layout')}:${tag}`, join(dir, file)], { env }).status).toBe(0);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const EXPIRY = /^# \+expiry-time=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$/;
  /** The expiry directive's time, which NFD wants first, before any label. */
  const expiryOf = (text: string) => {
    const m = EXPIRY.exec(text.split('\n')[0]!);
    return m ? Date.parse(m[1]!) : undefined;
  };

  it('starts the file with # +expiry-time= (1 h by default, --expiry to change, 0 for none)', () => {
    const file = join(dir, 'expiry.d/compat');
    const ref = `${join(dir, 'layout')}:xz`;
    for (const [args, ms] of [[[], 3600_000], [['--expiry', '90m'], 5400_000], [['--expiry', '1h30m15s'], 5415_000]] as const) {
      const t0 = Date.now();
      expect(compat(['host', 'labels', '--oci-layout', '--file', file, ...args, ref], { env }).status).toBe(0);
      const t1 = Date.now();
      const expiry = expiryOf(readFileSync(file, 'utf8'));
      expect(expiry).toBeGreaterThanOrEqual(Math.floor(t0 / 1000) * 1000 + ms);
      expect(expiry).toBeLessThanOrEqual(t1 + ms);
    }
    expect(compat(['host', 'labels', '--oci-layout', '--file', file, '--expiry', '0', ref], { env }).status).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('+expiry-time');
    expect(text).toMatch(/\.xz=true$/m);
    const bad = compat(['host', 'labels', '--oci-layout', '--file', file, '--expiry', 'soon', ref], { env });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('compat: --expiry soon: expected a duration such as 1h, 30m, 90s or 0');
  });

  it('writes through a dot-file in the same directory: nfd-worker never sees a half-written file', async () => {
    const d = join(dir, 'watched.d');
    mkdirSync(d);
    const seen = new Set<string>();
    const w = watch(d, (_event, name) => name && seen.add(name.toString()));
    try {
      for (let i = 0; i < 4; i++) {
        const r = await compatAsync(['host', 'labels', '--oci-layout', '--file', join(d, 'compat'), `${join(dir, 'layout')}:xz`], { env });
        expect(r.status).toBe(0);
      }
    } finally {
      w.close();
    }
    const names = [...seen];
    expect(names).toContain('compat');
    expect(names.filter((n) => n !== 'compat' && !n.startsWith('.'))).toEqual([]);
    expect(names.some((n) => n.startsWith('.compat.'))).toBe(true); // the temp file was there, and hidden
    expect(readdirSync(d)).toEqual(['compat']);
  });

  it('writes one NFD label per artifact, true where this node can run it', () => {
    const file = join(dir, 'features.d/compat');
    const r = compat(['host', 'labels', '--oci-layout', '--file', file, `${join(dir, 'layout')}:xz`, `${join(dir, 'layout')}:future`], { env });
    expect(r.status).toBe(0);
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${LABEL_PREFIX.replace(/\./g, '\\.')}[A-Za-z0-9._-]+\\.xz=true$`));
    expect(lines[1]).toMatch(/\.future=false$/);
  });

  it('an artifact that cannot be fetched fails the whole run (exit 2) and writes nothing', () => {
    const file = join(dir, 'features.d/none');
    const r = compat(['host', 'labels', '--oci-layout', '--file', file, `${join(dir, 'layout')}:xz`, `${join(dir, 'layout')}:missing`], { env });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('missing');
    expect(existsSync(file)).toBe(false);
  });
});
