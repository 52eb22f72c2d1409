import { beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LABEL_PREFIX, labelName } from '../../src/artifact/labels.js';
import { compat, tempDir } from '../helpers/fixtures.js';

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
