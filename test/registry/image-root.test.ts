import { describe, expect, it } from '@jest/globals';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OciLayout, withImageRoot } from '../../src/registry/index.js';
import { tempDir } from '../helpers/fixtures.js';
import { craftTar, makeLayeredImage } from '../helpers/image.js';

/** Layers applied in order as image-spec layer.md has it; what each leaves in the temporary root. */
describe('withImageRoot: layers, whiteouts, opaque directories', () => {
  const base = craftTar([
    { name: 'a', type: 'dir' },
    { name: 'a/f1', type: 'file', data: 'one' },
    { name: 'a/sub', type: 'dir' },
    { name: 'a/sub/f2', type: 'file', data: 'two' },
    { name: 'b', type: 'dir' },
    { name: 'b/keep', type: 'file', data: 'keep' },
    { name: 'b/gone', type: 'file', data: 'gone' },
    { name: 'c', type: 'file', data: 'c' },
    { name: 'suid', type: 'file', data: 's', mode: 0o6755 },
    { name: 'hard', type: 'link', linkname: 'a/f1' },
    { name: 'abs', type: 'symlink', linkname: '/etc/passwd' },
  ]);

  const read = async (layers: Buffer[], check: (root: string) => void): Promise<string> => {
    const img = await makeLayeredImage('t', layers.map((tar) => ({ tar })));
    const tmp = tempDir();
    let seen = '';
    await withImageRoot(new OciLayout(img.layout), 't', { tmpDir: tmp }, async ({ root }) => {
      seen = root;
      check(root);
    });
    expect(readdirSync(tmp)).toEqual([]);
    return seen;
  };

  it('opaque marker before or after the directory entries of the same layer: the lower contents go, the layer’s own stay', async () => {
    for (const order of ['marker-first', 'marker-last']) {
      const marker = { name: 'a/.wh..wh..opq', type: 'file' as const };
      const own = [
        { name: 'a/sub', type: 'dir' as const },
        { name: 'a/new', type: 'file' as const, data: 'new' },
      ];
      const upper = craftTar([...(order === 'marker-first' ? [marker, ...own] : [...own, marker]), { name: 'b/.wh.gone', type: 'file' }, { name: 'c', type: 'dir' }]);
      await read([base, upper], (root) => {
        expect(readdirSync(join(root, 'a')).sort()).toEqual(['new', 'sub']);
        expect(readdirSync(join(root, 'a/sub'))).toEqual([]);
        expect(readdirSync(join(root, 'b'))).toEqual(['keep']);
        // A directory replaces a file of a lower layer.
        expect(statSync(join(root, 'c')).isDirectory()).toBe(true);
      });
    }
  });

  it('drops setuid/setgid bits, keeps hard links inside, lays absolute links down without following them', async () => {
    await read([base], (root) => {
      expect(statSync(join(root, 'suid')).mode & 0o7777).toBe(0o755);
      expect(statSync(join(root, 'hard')).ino).toBe(statSync(join(root, 'a/f1')).ino);
      expect(lstatSync(join(root, 'abs')).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(root, 'abs'))).toBe('/etc/passwd');
    });
  });

  it('a whiteout in the same layer as its file leaves the file (whiteouts apply to lower layers only)', async () => {
    const upper = craftTar([{ name: 'x', type: 'file', data: 'x' }, { name: '.wh.x', type: 'file' }, { name: '.wh.c', type: 'file' }]);
    await read([base, upper], (root) => {
      expect(readFileSync(join(root, 'x'), 'utf8')).toBe('x');
      expect(existsSync(join(root, 'c'))).toBe(false);
    });
  });

  it('removes the root when the caller fails', async () => {
    let root = '';
    await expect(read([base], (r) => {
      root = r;
      throw new Error('caller failed');
    })).rejects.toThrow('caller failed');
    expect(root).not.toBe('');
    expect(existsSync(root)).toBe(false);
  });
});
