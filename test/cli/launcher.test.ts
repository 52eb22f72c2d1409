import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compatAsync, expectOneLineError, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { makeCertificate, startRegistry, type TestRegistry } from '../helpers/registry.js';

/**
 * bin/compat, the command users run, keeps node from parsing NODE_EXTRA_CA_CERTS at start-up and
 * reads the file for the first registry connection instead; against the real registry with TLS.
 */
let dir: string;
let env: Record<string, string>;
let server: { cert: string; key: string };
let other: { cert: string; key: string };
let reg: TestRegistry;
const viaLauncher = (args: string[], extra: Record<string, string> = {}) => compatAsync(args, { env: { ...env, ...extra }, launcher: true });
const viaNode = (args: string[], extra: Record<string, string> = {}) => compatAsync(args, { env: { ...env, ...extra } });

beforeAll(async () => {
  dir = tempDir();
  env = isolatedEnv(dir, { NODE_EXTRA_CA_CERTS: '' });
  server = makeCertificate(dir, 'server');
  other = makeCertificate(dir, 'other');
  reg = await startRegistry({ tls: server });
  const file = join(dir, 'hello.txt');
  writeFileSync(file, 'hello\n');
  const push = await viaNode(['push', '--ca-file', server.cert, `${reg.host}/team/hello:v1`, file]);
  expect(push.status).toBe(0);
});
afterAll(async () => {
  await reg?.dispose();
});

describe('start-up', () => {
  it('node itself does not read the file when started by bin/compat', async () => {
    const missing = join(dir, 'no-such-bundle.pem');
    // node warns at start-up about a file it cannot load: proof that it reads it there.
    const direct = await viaNode(['--version'], { NODE_EXTRA_CA_CERTS: missing });
    expect(direct.stderr).toMatch(/Ignoring extra certs from .*no-such-bundle\.pem/);
    const launched = await viaLauncher(['--version'], { NODE_EXTRA_CA_CERTS: missing });
    expect(launched.status).toBe(0);
    expect(launched.stderr).toBe('');
    expect(launched.stdout).toMatch(/^compat\//);
  });

  it('runs through a symbolic link to it, as npm installs it', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(join(import.meta.dirname, '..', '..', 'bin', 'compat'), join(bin, 'compat'));
    const r = spawnSync(join(bin, 'compat'), ['--version'], { encoding: 'utf8', env: { ...process.env, ...env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin` }, timeout: 60000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^compat\//);
  });

  it('what compat runs sees NODE_EXTRA_CA_CERTS as it was, and no variable of the launcher', async () => {
    const out = join(dir, 'env.jsonl');
    const r = await viaLauncher(['record', '--out', out, '--', 'sh', '-c', 'echo "$NODE_EXTRA_CA_CERTS|${COMPAT_DEFERRED_CA_CERTS-unset}"'], { NODE_EXTRA_CA_CERTS: server.cert });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${server.cert}|unset\n`);
  });
});

describe('TLS to a registry', () => {
  it('trusts a CA given only in NODE_EXTRA_CA_CERTS (read when the connection is made)', async () => {
    const r = await viaLauncher(['list', '--json', `${reg.host}/team/hello`], { NODE_EXTRA_CA_CERTS: server.cert });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)[0].tag).toBe('v1');
  });

  it('without it, the same registry is refused', async () => {
    expectOneLineError(await viaLauncher(['list', `${reg.host}/team/hello`]), /TLS|certificate/i);
  });

  it('an unreadable NODE_EXTRA_CA_CERTS is ignored with one warning, as node does', async () => {
    const r = await viaLauncher(['list', `${reg.host}/team/hello`], { NODE_EXTRA_CA_CERTS: dir });
    expect(r.status).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`compat: warning: NODE_EXTRA_CA_CERTS=${dir}: extra certificates ignored: not a regular file (a directory)`);
    expect(lines[1]).toMatch(/TLS|certificate/i);
  });

  it('--ca-file adds to the trusted CAs (NODE_EXTRA_CA_CERTS still counts), as ORAS adds to the system pool', async () => {
    for (const run of [viaLauncher, viaNode]) {
      const r = await run(['list', '--json', '--ca-file', other.cert, `${reg.host}/team/hello`], { NODE_EXTRA_CA_CERTS: server.cert });
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)[0].tag).toBe('v1');
    }
    expectOneLineError(await viaLauncher(['list', '--ca-file', other.cert, `${reg.host}/team/hello`]), /TLS|certificate/i);
  });

  it('a pull through the launcher writes what the registry holds', async () => {
    const out = join(dir, 'pulled');
    const r = await viaLauncher(['pull', '-o', out, `${reg.host}/team/hello:v1`], { NODE_EXTRA_CA_CERTS: server.cert });
    expect(r.status).toBe(0);
    expect(readFileSync(join(out, 'hello.txt'), 'utf8')).toBe('hello\n');
  });
});
