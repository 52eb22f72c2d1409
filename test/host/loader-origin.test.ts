import { beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { checkSpec } from '../../src/artifact/check-spec.js';
import { generateSpec } from '../../src/artifact/gen.js';
import { dependencyReport } from '../../src/host/deps.js';
import { type HostIndex, scanHost } from '../../src/host/host-index.js';
import { gcc, runBinary, tempDir } from '../helpers/fixtures.js';
import { loaderFixture } from '../helpers/loader-fixture.js';

/**
 * $ORIGIN through symbolic links: the executable's is the directory of its real path, a library's
 * the directory of the path it was opened by. deps, gen's bundling and check must all agree with the run.
 */
let index: HostIndex;
let d: string;
beforeAll(() => {
  index = scanHost({ indexFile: join(tempDir(), 'index.json') });
  d = loaderFixture('origin-symlink');
  for (const sub of ['real/bin', 'real/lib', 'links', 'app2/bin', 'app2/lib', 'store']) mkdirSync(join(d, sub), { recursive: true });
  gcc(d, ['-shared', '-fPIC', '-o', 'real/lib/libleaf.so', 'leaf.c', '-Wl,-soname,libleaf.so']);
  gcc(d, ['-shared', '-fPIC', '-o', 'real/lib/libmid.so', 'mid.c', '-Wl,-soname,libmid.so', '-Lreal/lib', '-lleaf', '-Wl,-rpath,$ORIGIN']);
  gcc(d, ['-o', 'real/bin/app', 'app.c', '-Lreal/lib', '-lmid', '-Wl,-rpath,$ORIGIN/../lib', '-Wl,-rpath-link,real/lib']);
  // An executable reached through a link in another directory.
  symlinkSync('../real/bin/app', join(d, 'links/app'));
  // A library reached through a link: its $ORIGIN is app2/lib (where libleaf is), not store/.
  copyFileSync(join(d, 'real/bin/app'), join(d, 'app2/bin/app'));
  copyFileSync(join(d, 'real/lib/libleaf.so'), join(d, 'app2/lib/libleaf.so'));
  copyFileSync(join(d, 'real/lib/libmid.so'), join(d, 'store/libmid.so'));
  symlinkSync('../../store/libmid.so', join(d, 'app2/lib/libmid.so'));
});

const verdict = (input: string) => checkSpec(generateSpec([input]), index);

describe('$ORIGIN through symbolic links', () => {
  it('a symlinked executable keeps its $ORIGIN/../lib bundle (the real path\'s directory)', () => {
    const app = join(d, 'links/app');
    expect(runBinary(app).stdout).toBe('30\n');
    expect(dependencyReport(app, { preloadFile: null }).missing).toEqual([]);
    const spec = generateSpec([app]);
    const exe = spec.binaries.find((b) => b.type === 'executable')!;
    expect(exe.bundled?.sort()).toEqual(['real/lib/libleaf.so', 'real/lib/libmid.so']);
    const report = checkSpec(spec, index);
    expect(report.reasons).toEqual([]);
  });

  it('a library opened through a link takes $ORIGIN from the link\'s directory (lone binary)', () => {
    const app = join(d, 'app2/bin/app');
    expect(runBinary(app).stdout).toBe('30\n');
    const r = dependencyReport(app, { preloadFile: null });
    expect(r.libraries.find((l) => l.soname === 'libleaf.so')!.path).toBe(`${d}/app2/bin/../lib/libleaf.so`);
    const report = verdict(app);
    expect(report.reasons).toEqual([]);
    expect(report.compatible).toBe(true);
  });

  it('the same application described as a directory', () => {
    const report = verdict(join(d, 'app2'));
    expect(report.reasons).toEqual([]);
  });
});
