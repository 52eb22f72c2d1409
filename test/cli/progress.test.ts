import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { barLine, doneLine, nameOf } from '../../src/cli/progress.js';
import { compat, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { compatOnPty, nodeOnPty } from '../helpers/pty.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

/** Progress bars on a real terminal (a pseudo-terminal), against the real registry. */
const LONG = 'a-file-whose-name-is-far-too-long-for-a-narrow-terminal-window.bin';
const COLUMNS = 60;
let reg: TestRegistry;
let dir: string;
let env: Record<string, string>;
let layout: string;

// eslint-disable-next-line no-control-regex
const visibleLines = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').split(/\r\n|\r|\n/);

beforeAll(async () => {
  reg = await startRegistry();
  dir = tempDir();
  env = isolatedEnv(dir);
  writeFileSync(join(dir, 'hello.txt'), 'hello\n');
  writeFileSync(join(dir, LONG), Buffer.alloc(3 * 1024 * 1024, 7));
  writeFileSync(join(dir, 'other.bin'), Buffer.alloc(2 * 1024 * 1024, 9));
  writeFileSync(join(dir, 'new.txt'), 'new\n');
  layout = join(dir, 'layout');
  // v2 has the files of v1 and one more: copied after v1, only new.txt (and the manifest) is new.
  for (const [tag, files] of [['v1', ['hello.txt', LONG, 'other.bin']], ['v2', ['hello.txt', LONG, 'other.bin', 'new.txt']]] as const) {
    const p = compat(['push', '--oci-layout', `${layout}:${tag}`, ...files], { env, cwd: dir });
    expect(p.status).toBe(0);
  }
});
afterAll(async () => {
  await reg?.dispose();
});

describe('progress bars name each transfer, fit the terminal, say Exists', () => {
  it('pushing twice: names (title, else short digest) the first time, Exists for what the registry has the second, every line within the width', async () => {
    const driver = join(import.meta.dirname, '..', 'helpers', 'copy-with-bars.mjs');
    const first = await nodeOnPty([driver, layout, 'v1', `${reg.host}/team/files`, '2'], { env, columns: COLUMNS });
    expect(first.status).toBe(0);
    const a = visibleLines(first.output);
    expect(a).toContain('copied');
    expect(a.some((l) => /^✓ Uploaded +hello\.txt +6 B$/.test(l))).toBe(true);
    expect(a.some((l) => /^✓ Uploaded +…[\w.-]*window\.bin +3\.0 MiB$/.test(l))).toBe(true);
    // The empty config has no title: its short digest names it.
    expect(a.some((l) => /^✓ Uploaded +44136fa355b3 +2 B$/.test(l))).toBe(true);
    for (const l of a) expect(l.length).toBeLessThan(COLUMNS);

    const second = await nodeOnPty([driver, layout, 'v2', `${reg.host}/team/files`, '2'], { env, columns: COLUMNS });
    expect(second.status).toBe(0);
    const b = visibleLines(second.output);
    for (const name of ['hello\\.txt', 'other\\.bin', '…[\\w.-]*window\\.bin', '44136fa355b3']) expect(b.some((l) => new RegExp(`^✓ Exists +${name} `).test(l))).toBe(true);
    expect(b.filter((l) => /^✓ Uploaded/.test(l)).map((l) => l.split(/ +/)[2])).toEqual([expect.stringMatching(/^new\.txt$/), expect.stringMatching(/^[0-9a-f]{12}$/)]);
    for (const l of b) expect(l.length).toBeLessThan(COLUMNS);
  });

  it('compat push on a terminal names the files it uploads', async () => {
    const r = await compatOnPty(['push', '--plain-http', `${reg.host}/team/cli:v1`, 'hello.txt', 'other.bin'], { env, columns: COLUMNS, cwd: dir });
    expect(r.status).toBe(0);
    const lines = visibleLines(r.output);
    expect(lines.some((l) => /^✓ Uploaded +other\.bin +2\.0 MiB$/.test(l))).toBe(true);
    // The bars' lines (not the result, `Digest: sha256:…`, which is what it is).
    for (const l of lines.filter((x) => /^(✓ | {2})/.test(x))) expect(l.length).toBeLessThan(COLUMNS);
  });

  /** The `✓ VERB NAME` lines of a run, as [verb, name] pairs. */
  const doneLines = (output: string) => visibleLines(output).flatMap((l) => {
    const m = /^✓ (\w+) +(\S+) /.exec(l);
    return m ? [[m[1]!, m[2]!] as const] : [];
  });

  it('compat push twice: the second run says Exists for every blob the registry already has, and uploads none', async () => {
    const ref = `${reg.host}/team/twice:v1`;
    const first = await compatOnPty(['push', '--plain-http', ref, 'hello.txt', 'other.bin'], { env, columns: COLUMNS, cwd: dir });
    expect(first.status).toBe(0);
    expect(doneLines(first.output).filter(([v]) => v === 'Uploaded').map(([, n]) => n).sort()).toEqual(['44136fa355b3', 'hello.txt', 'other.bin']);
    const second = await compatOnPty(['push', '--plain-http', ref, 'hello.txt', 'other.bin'], { env, columns: COLUMNS, cwd: dir });
    expect(second.status).toBe(0);
    const lines = doneLines(second.output);
    expect(lines.filter(([v]) => v === 'Exists').map(([, n]) => n).sort()).toEqual(['44136fa355b3', 'hello.txt', 'other.bin']);
    expect(lines.filter(([v]) => v === 'Uploaded')).toEqual([]);
  });

  it('compat pull twice: the second run says Exists for every blob the node store already has, and downloads none', async () => {
    const ref = `${reg.host}/team/pulled:v1`;
    expect(compat(['push', '--plain-http', ref, 'hello.txt', 'other.bin'], { env, cwd: dir }).status).toBe(0);
    const first = await compatOnPty(['pull', '--plain-http', ref], { env, columns: COLUMNS, cwd: dir });
    expect(first.status).toBe(0);
    expect(doneLines(first.output).filter(([v]) => v === 'Downloaded').map(([, n]) => n)).toEqual(expect.arrayContaining(['44136fa355b3', 'hello.txt', 'other.bin']));
    const second = await compatOnPty(['pull', '--plain-http', ref], { env, columns: COLUMNS, cwd: dir });
    expect(second.status).toBe(0);
    const lines = doneLines(second.output);
    expect(lines.filter(([v]) => v === 'Exists').map(([, n]) => n)).toEqual(expect.arrayContaining(['44136fa355b3', 'hello.txt', 'other.bin']));
    expect(lines.filter(([v]) => v === 'Downloaded')).toEqual([]);
    for (const l of visibleLines(second.output).filter((x) => /^(✓ | {2})/.test(x))) expect(l.length).toBeLessThan(COLUMNS);
  });

  it('compat attach and compat cp say Exists for what the target already has', async () => {
    const subject = `${reg.host}/team/twice:v1`;
    expect(compat(['push', '--plain-http', subject, 'hello.txt'], { env, cwd: dir }).status).toBe(0);
    const attached = await compatOnPty(['attach', '--plain-http', '--artifact-type', 'application/vnd.example.notes', subject, 'hello.txt', 'new.txt'], { env, columns: COLUMNS, cwd: dir });
    expect(attached.status).toBe(0);
    expect(doneLines(attached.output)).toEqual(expect.arrayContaining([['Exists', '44136fa355b3'], ['Exists', 'hello.txt'], ['Uploaded', 'new.txt']]));

    const dst = `${reg.host}/team/promoted:v1`;
    const first = await compatOnPty(['cp', '--plain-http', subject, dst], { env, columns: COLUMNS, cwd: dir });
    expect(first.status).toBe(0);
    expect(doneLines(first.output).filter(([v]) => v === 'Exists')).toEqual([]);
    const second = await compatOnPty(['cp', '--plain-http', subject, dst], { env, columns: COLUMNS, cwd: dir });
    expect(second.status).toBe(0);
    const lines = doneLines(second.output);
    expect(lines.filter(([v]) => v === 'Exists').map(([, n]) => n)).toEqual(expect.arrayContaining(['44136fa355b3', 'hello.txt']));
    expect(lines.filter(([v]) => v !== 'Exists')).toEqual([]);
  });

  it('off a terminal, no bars', () => {
    const r = compat(['push', '--plain-http', `${reg.host}/team/cli:v2`, 'hello.txt'], { env, cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});

describe('the lines themselves', () => {
  it('a name is its title, else the first 12 hex digits of its digest', () => {
    expect(nameOf({ mediaType: 'x', digest: `sha256:${'ab'.repeat(32)}`, size: 1, annotations: { 'org.opencontainers.image.title': 'docs/a.txt' } })).toBe('docs/a.txt');
    expect(nameOf({ mediaType: 'x', digest: `sha256:${'ab'.repeat(32)}`, size: 1 })).toBe('abababababab');
  });

  it.each([20, 40, 60, 120])('fits %i columns, keeping the end of a long name', (columns) => {
    const bar = barLine(LONG, 1024 * 1024, 3 * 1024 * 1024, columns);
    expect(bar.length).toBeLessThan(columns);
    expect(bar).toContain('33%');
    const done = doneLine('Exists', LONG, 3 * 1024 * 1024, columns);
    expect(done.length).toBeLessThan(columns);
    if (columns >= 40) expect(done).toMatch(columns > LONG.length + 25 ? /^✓ Exists +a-file-whose.*\.bin +3\.0 MiB$/ : /^✓ Exists +….*\.bin +3\.0 MiB$/);
  });
});
