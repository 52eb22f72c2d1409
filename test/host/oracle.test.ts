import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { dependencyReport } from '../../src/host/deps.js';
import { compat } from '../helpers/fixtures.js';
import { dynamicElfSample } from '../helpers/elf-sample.js';

/** `name path` pairs as ldd prints them, the loader line as `interp PATH`, vdso aside. */
function lddPairs(file: string): string[] {
  let out: string;
  try {
    out = execFileSync('ldd', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (e) {
    out = (e as { stdout?: string }).stdout ?? '';
  }
  const pairs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s+(\S+) => (not found|\S+)/.exec(line);
    if (m) pairs.push(`${m[1]} ${m[2]}`);
    else {
      const i = /^\s+(\/\S+) \(0x/.exec(line);
      if (i) pairs.push(`interp ${i[1]}`);
    }
  }
  return pairs.sort();
}

function compatPairs(report: ReturnType<typeof dependencyReport>): string[] {
  const pairs = report.libraries.map((l) => (l.via === 'interpreter' ? `interp ${l.path}` : `${l.soname} ${l.path}`));
  for (const m of report.missing) pairs.push(`${m.soname} not found`);
  return pairs.sort();
}

describe('deps agrees with ldd (the loader) on the machine\'s own binaries', () => {
  // ldd takes $ORIGIN from the path it is given; the kernel hands the loader the real path.
  const files = [...dynamicElfSample('/usr/bin', 60), ...dynamicElfSample('/usr/sbin', 15), ...dynamicElfSample('/usr/lib/x86_64-linux-gnu', 40)];

  it('samples enough binaries to mean something', () => {
    expect(files.length).toBeGreaterThan(80);
  });

  it.each(files)('%s', (file) => {
    expect(compatPairs(dependencyReport(file))).toEqual(lddPairs(realpathSync(file)));
  });

  it('compat deps --json carries soname and path for every library', () => {
    const r = compat(['deps', '--json', '/usr/bin/xz']);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as { libraries: Array<{ soname: string; path: string }> };
    const pairs = doc.libraries.map((l) => (l.path.includes('ld-linux') ? `interp ${l.path}` : `${l.soname} ${l.path}`)).sort();
    expect(pairs).toEqual(lddPairs('/usr/bin/xz'));
  });
});
