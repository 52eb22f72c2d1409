import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compatAsync, tempDir } from '../helpers/fixtures.js';
import { spawnServer, type ServerProcess } from './server-process.js';

/** `compat check --server` answers as the local check does: same output, same exit codes. */
describe('compat check --server', () => {
  let server: ServerProcess;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = tempDir();
    env = { XDG_CACHE_HOME: join(dir, 'cache'), XDG_DATA_HOME: join(dir, 'data') };
    server = await spawnServer(['--quiet'], env);
    expect((await compatAsync(['gen', '/usr/bin/xz', '-o', join(dir, 'xz.json')], { env })).status).toBe(0);
    const spec = JSON.parse(readFileSync(join(dir, 'xz.json'), 'utf8'));
    spec.binaries[0].needed.push({ soname: 'libnot-on-this-node.so.3', versions: [] });
    writeFileSync(join(dir, 'missing.json'), JSON.stringify(spec));
    writeFileSync(join(dir, 'junk.json'), '{');
  });
  afterAll(() => server?.kill());

  it.each([['xz.json'], ['missing.json']])('%s: same stdout and exit code as the local check', async (name) => {
    const file = join(dir, name);
    const local = await compatAsync(['check', file], { env });
    const remote = await compatAsync(['check', '--server', server.address, file], { env });
    expect(remote.status).toBe(local.status);
    expect(remote.stdout).toBe(local.stdout);
    expect(local.status).toBe(name === 'xz.json' ? 0 : 1);
  });

  it('a reason names the missing soname through the daemon too', async () => {
    const r = await compatAsync(['check', '--json', '--server', server.address, join(dir, 'missing.json')], { env });
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).reasons[0].message).toContain('libnot-on-this-node.so.3 not found');
  });

  it('bad input is still a one-line error with exit 2', async () => {
    const r = await compatAsync(['check', '--server', server.address, join(dir, 'junk.json')], { env });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('junk.json');
  });

  it('an unreachable daemon is an error (exit 2) naming the address', async () => {
    const r = await compatAsync(['check', '--server', '127.0.0.1:1', join(dir, 'xz.json')], { env });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('127.0.0.1:1');
  });
});
