import { beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { compat, tempDir } from '../helpers/fixtures.js';

let dir: string;
let env: Record<string, string>;

beforeAll(() => {
  dir = tempDir();
  env = { XDG_CACHE_HOME: join(dir, 'cache') };
  writeFileSync(join(dir, 'notes.txt'), 'just text\n');
  writeFileSync(join(dir, 'trunc'), readFileSync('/bin/true').subarray(0, 40));
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
  mkdirSync(join(dir, 'adir'));
});

/** The error contract: one line naming the input and the problem, exit 2, no stack. */
function expectInputError(r: { status: number | null; stdout: string; stderr: string }, ...parts: string[]) {
  expect(r.status).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  for (const p of parts) expect(lines[0]).toContain(p);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('bad input: one line, exit 2, nothing written', () => {
  it('gen on a text file', () => {
    const out = join(dir, 'out1.json');
    const r = compat(['gen', join(dir, 'notes.txt'), '-o', out]);
    expectInputError(r, 'notes.txt', 'not an ELF file');
    expect(existsSync(out)).toBe(false);
  });

  it('gen on a missing file and on a dangling link', () => {
    expectInputError(compat(['gen', join(dir, 'nope')]), 'nope', 'no such file');
    expectInputError(compat(['gen', join(dir, 'dangling')]), 'dangling', 'no such file');
  });

  it('deps on a truncated ELF', () => {
    expectInputError(compat(['deps', join(dir, 'trunc')]), 'trunc', 'beyond the end of the file');
  });

  it('check on a directory, on broken JSON, on JSON that is not a spec', () => {
    expectInputError(compat(['check', join(dir, 'adir')], { env }), 'adir', 'is a directory');
    writeFileSync(join(dir, 'broken.json'), '{');
    expectInputError(compat(['check', join(dir, 'broken.json')], { env }), 'broken.json', 'not valid JSON');
    writeFileSync(join(dir, 'wrong.json'), JSON.stringify({ schemaVersion: 1, kind: 'binary', platform: { os: 'linux', architecture: 'amd64' }, binaries: [{ path: 'x' }], attributes: {} }));
    expectInputError(compat(['check', join(dir, 'wrong.json')], { env }), 'wrong.json', 'invalid compat spec', '/binaries/0');
  });

  it('--debug adds the stack trace', () => {
    const r = compat(['gen', join(dir, 'notes.txt'), '--debug']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('a failed gen leaves no temp file behind', () => {
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('gen, host scan, check through the CLI', () => {
  it('gen -o writes a valid spec that checks compatible (exit 0)', () => {
    const out = join(dir, 'xz.json');
    const g = compat(['gen', '/usr/bin/xz', '-o', out]);
    expect(g.status).toBe(0);
    const spec = JSON.parse(readFileSync(out, 'utf8'));
    expect(spec.binaries[0]).toMatchObject({ path: 'xz', machine: 'x86_64', class: 64, interpreter: '/lib64/ld-linux-x86-64.so.2' });
    expect(spec.binaries[0].needed.find((n: { soname: string }) => n.soname === 'libc.so.6').versions).toContain('GLIBC_2.34');
    expect(spec.attributes['llnl.compatlib.executable-name']).toBe('xz');
    const c = compat(['check', out], { env });
    expect(c.status).toBe(0);
    expect(c.stdout).toContain('compatible with this node');
  });

  it('an impossible glibc version is incompatible (exit 1) and the reason names what the host has', () => {
    const spec = JSON.parse(readFileSync(join(dir, 'xz.json'), 'utf8'));
    spec.binaries[0].needed.find((n: { soname: string }) => n.soname === 'libc.so.6').versions.push('GLIBC_2.99');
    writeFileSync(join(dir, 'future.json'), JSON.stringify(spec));
    const c = compat(['check', '--json', join(dir, 'future.json')], { env });
    expect(c.status).toBe(1);
    const report = JSON.parse(c.stdout);
    expect(report.compatible).toBe(false);
    expect(report.reasons).toHaveLength(1);
    expect(report.reasons[0]).toMatchObject({ kind: 'missing-version', class: 'version', soname: 'libc.so.6', version: 'GLIBC_2.99' });
    expect(report.reasons[0].message).toMatch(/GLIBC_2\.99 needed from libc\.so\.6, \S+libc\.so\.6 has up to GLIBC_2\.\d+/);
  });

  it('reads the seed prototype\'s legacy format', () => {
    const legacy = { version: '0.0.1', attributes: { 'llnl.compatlib.executable-name': 'xz', 'llnl.compatlib.library-name.0': 'ld-linux-x86-64.so.2', 'llnl.compatlib.library-name.1': 'liblzma.so.5', 'llnl.compatlib.library-name.2': 'libc.so.6' } };
    writeFileSync(join(dir, 'legacy.json'), JSON.stringify(legacy));
    expect(compat(['check', join(dir, 'legacy.json')], { env }).status).toBe(0);
    legacy.attributes['llnl.compatlib.library-name.2'] = 'libnot-here.so.9';
    writeFileSync(join(dir, 'legacy2.json'), JSON.stringify(legacy));
    const r = compat(['check', join(dir, 'legacy2.json')], { env });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('libnot-here.so.9 not found');
  });

  it('host scan persists an index that host show reads', () => {
    const s = compat(['host', 'scan', '--json'], { env });
    expect(s.status).toBe(0);
    const summary = JSON.parse(s.stdout);
    expect(summary.libraries).toBeGreaterThan(50);
    expect(existsSync(summary.file)).toBe(true);
    const show = compat(['host', 'show', '--json', 'libc.so.6'], { env });
    expect(show.status).toBe(0);
    const cands = JSON.parse(show.stdout)['libc.so.6'];
    expect(cands[0].versions).toContain('GLIBC_2.34');
    expect(compat(['host', 'show', 'libnope.so.7'], { env }).status).toBe(1);
  });
});
