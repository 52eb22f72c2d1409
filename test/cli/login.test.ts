import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compat, expectOneLineError, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { compatOnPty } from '../helpers/pty.js';
import { makeHtpasswd, startRegistry, type TestRegistry } from '../helpers/registry.js';

/** `login` as docker and ORAS users expect it, against the real registry with htpasswd. */
let reg: TestRegistry;
let dir: string;
let env: Record<string, string>;
const PASSWORD = 'pty-s3cret';

beforeAll(async () => {
  dir = tempDir();
  reg = await startRegistry({ htpasswd: makeHtpasswd(dir, 'alice', PASSWORD) });
  env = isolatedEnv(dir);
});
afterAll(async () => {
  await reg?.dispose();
});

const authFile = () => join(dir, 'config/compat/auth.json');
const stored = () => existsSync(authFile()) && readFileSync(authFile(), 'utf8').includes(reg.host);
// eslint-disable-next-line no-control-regex
const screen = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

describe('login on a terminal', () => {
  it('asks for the user name, then the password without echoing it, and stores the credential', async () => {
    const r = await compatOnPty(['login', reg.host, '--plain-http'], { env, steps: [['Username: ', 'alice\r'], ['Password: ', `${PASSWORD}\r`]] });
    expect(screen(r.output)).toContain('Username: alice');
    expect(r.output).toContain('Password: ');
    expect(r.output).not.toContain(PASSWORD);
    expect(r.output).toContain('Login Succeeded');
    expect(r.status).toBe(0);
    expect(stored()).toBe(true);
    expect(compat(['logout', reg.host], { env }).status).toBe(0);
  });

  it('with -u, asks only for the password', async () => {
    const r = await compatOnPty(['login', reg.host, '--plain-http', '-u', 'alice'], { env, steps: [['Password: ', `${PASSWORD}\r`]] });
    expect(r.output).not.toContain('Username:');
    expect(r.output).not.toContain(PASSWORD);
    expect(r.output).toContain('Login Succeeded');
    expect(r.status).toBe(0);
    expect(compat(['logout', reg.host], { env }).status).toBe(0);
  });
});

describe('login off a terminal', () => {
  it('-p works and warns once, on stderr, that the password may land in shell history', () => {
    const r = compat(['login', reg.host, '--plain-http', '-u', 'alice', '-p', PASSWORD], { env });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Login Succeeded');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^compat: warning: -p\/--password: .*shell history.*--password-stdin/);
    expect(r.stderr).not.toContain(PASSWORD);
    expect(compat(['logout', reg.host], { env }).status).toBe(0);
  });

  it('COMPAT_PASSWORD does not warn', () => {
    const r = compat(['login', reg.host, '--plain-http', '-u', 'alice'], { env: { ...env, COMPAT_PASSWORD: PASSWORD } });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(compat(['logout', reg.host], { env }).status).toBe(0);
  });

  it('without a password and without a terminal, says how to give one; nothing is stored', () => {
    const r = compat(['login', reg.host, '--plain-http', '-u', 'alice'], { env, input: '' });
    expectOneLineError(r, /^compat: login: no password: .*--password-stdin/);
    expect(stored()).toBe(false);
  });

  it('a missing registry is not read from the piped password', () => {
    const r = compat(['login', '-u', 'alice', '--password-stdin'], { env, input: `${PASSWORD}\n` });
    expectOneLineError(r, /^compat: login: missing REGISTRY\b/);
    expect(r.stderr).not.toContain(PASSWORD);
  });
});

describe('-p/--password on any command', () => {
  const WARNING = /^compat: warning: -p\/--password: .*shell history.*--password-stdin$/;

  it.each([
    ['push', (ref: string) => ['push', '--plain-http', ref, 'hello.txt']],
    ['pull', (ref: string) => ['pull', '--plain-http', ref]],
    ['resolve', (ref: string) => ['resolve', '--plain-http', ref]],
    ['list', (ref: string) => ['list', '--plain-http', ref.replace(/:[^:/]+$/, '')]],
  ] as const)('%s warns once, on stderr, and still runs', (_name, argv) => {
    writeFileSync(join(dir, 'hello.txt'), 'hello\n');
    const ref = `${reg.host}/team/typed:v1`;
    for (const typed of [['-u', 'alice', '-p', PASSWORD], ['-u', 'alice', `--password=${PASSWORD}`], ['-u', 'alice', `-p${PASSWORD}`]]) {
      const r = compat([...argv(ref), ...typed], { env, cwd: dir });
      expect({ status: r.status, stderr: r.stderr.trimEnd().split('\n') }).toEqual({ status: 0, stderr: [expect.stringMatching(WARNING)] });
      expect(r.stderr).not.toContain(PASSWORD);
    }
  });

  it('COMPAT_PASSWORD, or no password at all, does not warn', () => {
    writeFileSync(join(dir, 'hello.txt'), 'hello\n');
    const ref = `${reg.host}/team/typed:v2`;
    const r = compat(['push', '--plain-http', '-u', 'alice', ref, 'hello.txt'], { env: { ...env, COMPAT_PASSWORD: PASSWORD }, cwd: dir });
    expect([r.status, r.stderr]).toEqual([0, '']);
    const anonymous = compat(['resolve', '--plain-http', ref], { env, cwd: dir });
    expect(anonymous.stderr).not.toMatch(/warning/);
  });

  it('login with -p and --password-stdin together: the one error line, no warning before it', () => {
    const r = compat(['login', reg.host, '--plain-http', '-u', 'alice', '-p', PASSWORD, '--password-stdin'], { env, input: `${PASSWORD}\n` });
    expectOneLineError(r, /^compat: login: give the password with --password-stdin or -p, not both$/);
  });
});
