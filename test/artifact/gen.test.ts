import { beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { generateSpec } from '../../src/artifact/gen.js';
import { parseSpec } from '../../src/artifact/spec.js';
import { tempDir } from '../helpers/fixtures.js';

describe('gen --root: a root file system resolves inside itself', () => {
  let root: string;
  beforeAll(() => {
    root = tempDir();
    const lib = join(root, 'usr/lib/x86_64-linux-gnu');
    mkdirSync(lib, { recursive: true });
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    mkdirSync(join(root, 'usr/lib64'), { recursive: true });
    symlinkSync('usr/lib', join(root, 'lib'));
    symlinkSync('usr/lib64', join(root, 'lib64'));
    copyFileSync('/usr/bin/xz', join(root, 'usr/bin/xz'));
    for (const f of ['liblzma.so.5', 'libc.so.6']) copyFileSync(join('/usr/lib/x86_64-linux-gnu', f), join(lib, f));
    copyFileSync('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', join(lib, 'ld-linux-x86-64.so.2'));
    // An absolute link inside the root must point into the root, not at the host.
    symlinkSync('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', join(root, 'usr/lib64/ld-linux-x86-64.so.2'));
  });

  it('records the rootfs libraries as bundled, found through its own default dirs', () => {
    const spec = generateSpec([], { root });
    expect(spec.kind).toBe('rootfs');
    const xz = spec.binaries.find((b) => b.path === 'usr/bin/xz');
    expect(xz?.bundled?.sort()).toEqual(['usr/lib/x86_64-linux-gnu/libc.so.6', 'usr/lib/x86_64-linux-gnu/liblzma.so.5']);
    expect(spec.binaries.find((b) => b.soname === 'libc.so.6')?.defines).toContain('GLIBC_2.34');
    // The spec it writes is valid against the schema.
    expect(() => parseSpec(JSON.stringify(spec), 'rootfs.json')).not.toThrow();
  });

  it('a root without the library reports nothing bundled for it', () => {
    const bare = tempDir();
    mkdirSync(join(bare, 'usr/bin'), { recursive: true });
    copyFileSync('/usr/bin/xz', join(bare, 'usr/bin/xz'));
    const spec = generateSpec([], { root: bare });
    expect(spec.binaries.map((b) => b.path)).toEqual(['usr/bin/xz']);
    expect(spec.binaries[0]!.bundled).toBeUndefined();
  });
});
