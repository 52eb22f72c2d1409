import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { compat, expectOneLineError, isolatedEnv, tempDir } from '../helpers/fixtures.js';

/** Usage errors as every other error: one complete line `compat: <command>: <what is wrong>`, exit 2. */
interface ManifestCommand {
  id: string;
  args: Record<string, { required?: boolean; description?: string }>;
}
const manifest = JSON.parse(readFileSync('oclif.manifest.json', 'utf8')) as { commands: Record<string, ManifestCommand> };
const withRequiredArgs = Object.values(manifest.commands).filter((c) => Object.values(c.args).some((a) => a.required));

let env: Record<string, string>;
beforeAll(() => {
  env = isolatedEnv(tempDir());
});

describe('a command without its required argument names what is missing', () => {
  it('covers the commands that take one', () => {
    expect(withRequiredArgs.map((c) => c.id)).toEqual(expect.arrayContaining(['check', 'push', 'pull', 'login', 'logout', 'attach', 'host:labels']));
  });

  it.each(withRequiredArgs.map((c) => [c.id, c] as const))('%s', (_id, cmd) => {
    const words = cmd.id.split(':');
    // Through both entries: the fast entry must hand this to oclif and say the same.
    for (const extra of [{}, { COMPAT_NO_FASTPATH: '1' }] as Array<Record<string, string>>) {
      const r = compat(words, { env: { ...env, ...extra }, input: '' });
      const first = Object.entries(cmd.args).find(([, a]) => a.required)![0];
      expectOneLineError(r, new RegExp(`^compat: ${words.join(' ')}: missing ${first.toUpperCase()}\\b.*; see compat ${words.join(' ')} --help$`));
      expect(r.stdout).toBe('');
    }
  });
});

describe('other usage errors, same style', () => {
  it('an unknown command, and an unknown one under a topic', () => {
    expectOneLineError(compat(['nosuch'], { env }), /^compat: nosuch: not a compat command; see compat --help$/);
    expectOneLineError(compat(['host', 'nosuch'], { env }), /^compat: host nosuch: not a compat command; see compat --help$/);
  });

  it('an unknown flag and an extra argument', () => {
    expectOneLineError(compat(['logout', 'r.example', '--nope'], { env }), /^compat: logout: unknown flag --nope; see compat logout --help$/);
    expectOneLineError(compat(['logout', 'r.example', 'extra'], { env }), /^compat: logout: unexpected argument extra; see compat logout --help$/);
  });

  it('login --password-stdin without -u says which flag is missing', () => {
    const r = compat(['login', '127.0.0.1:1', '--password-stdin'], { env, input: 'secret\n' });
    expectOneLineError(r, /^compat: login: --password-stdin needs -u\/--username/);
  });
});
