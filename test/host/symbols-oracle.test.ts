import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { undefinedSymbols } from '../../src/host/undefined-symbols.js';
import { dynamicElfSample } from '../helpers/elf-sample.js';

/** `ldd -r`'s "undefined symbol: X[, version V]\t(object)" lines as `X@V object`. */
function lddR(file: string): string[] {
  let out: string;
  try {
    out = execFileSync('ldd', ['-r', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string };
    out = `${x.stdout ?? ''}${x.stderr ?? ''}`;
  }
  return [...new Set([...out.matchAll(/undefined symbol: (\S+?)(?:, version (\S+))?\t\((.*)\)/g)].map((m) => `${m[1]}@${m[2] ?? ''} ${m[3]}`))].sort();
}

function compatR(file: string): string[] {
  return [...new Set(undefinedSymbols(file).map((u) => `${u.symbol}@${u.version ?? ''} ${u.object}`))].sort();
}

describe('undefined symbols agree with ldd -r on the machine\'s own objects', () => {
  // Plugins that leave symbols to their host program: ldd -r lists them, so must compat.
  const withFindings = ['/usr/lib/x86_64-linux-gnu/libthread_db.so.1', '/usr/lib/x86_64-linux-gnu/perl/5.36.0/auto/Cwd/Cwd.so', '/usr/lib/x86_64-linux-gnu/apr-util-1/apr_dbm_db-1.so'].filter((f) => existsSync(f));
  const files = [...dynamicElfSample('/usr/bin', 30), ...dynamicElfSample('/usr/sbin', 8), ...dynamicElfSample('/usr/lib/x86_64-linux-gnu', 25), ...withFindings].map((f) => realpathSync(f));

  it('includes objects with findings', () => {
    expect(withFindings.map(compatR).some((r) => r.length > 0)).toBe(true);
  });

  it.each(files)('%s', (file) => {
    expect(compatR(file)).toEqual(lddR(file));
  });
});
