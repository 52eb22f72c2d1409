import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../helpers/registry.js';

/*
 * The keychain path runs in a child process: the native keyring reads the real environment
 * (DBUS_SESSION_BUS_ADDRESS), which jest's sandboxed process.env does not reach. The library is
 * compiled to a temp dir for that child, and the child runs under a private session bus with a
 * headless gnome-keyring unlocked by a throwaway password.
 */
const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
let dir: string;

const CHILD = `
import { saveCredential, findCredential, removeCredential } from './out/index.js';
const opts = { keychainService: 'oci-registry-jest', authFile: process.argv[2], dockerConfig: false, podmanAuthFiles: false };
const host = '127.0.0.1:5999';
const saved = await saveCredential(host, { username: 'kuser', password: 'kc-secret-pw' }, opts);
const found = await findCredential(host, undefined, opts);
const removed = await removeCredential(host, opts);
const after = await findCredential(host, undefined, opts);
console.log(JSON.stringify({ saved, source: found?.source ?? null, credential: found?.credential ?? null, removed, after: after ?? null }));
`;

beforeAll(() => {
  dir = tempDir('registry-keychain-');
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), [
    '--outDir', join(dir, 'out'), '--rootDir', join(ROOT, 'src', 'registry'), '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
    '--target', 'ES2022', '--strict', '--skipLibCheck', '--types', 'node', join(ROOT, 'src', 'registry', 'index.ts'),
  ], { stdio: 'pipe' });
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'child.mjs'), CHILD);
}, 60_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function runChild(withKeyring: boolean, authFile: string) {
  const node = process.execPath;
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };
  const out = withKeyring
    ? execFileSync('dbus-run-session', ['--', 'sh', '-c', `eval "$(printf throwaway | gnome-keyring-daemon --unlock --components=secrets)"; "${node}" child.mjs "${authFile}"`], { cwd: dir, env, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] })
    : execFileSync(node, ['child.mjs', authFile], { cwd: dir, env, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

describe('OS keychain (Secret Service via @napi-rs/keyring)', () => {
  test('with a session bus and gnome-keyring: saved in the keychain, no file written, found, removed', () => {
    const authFile = join(dir, 'kc-auth.json');
    const r = runChild(true, authFile);
    expect(r.saved).toEqual({ where: 'keychain' });
    expect(r.source).toBe('keychain');
    expect(r.credential).toEqual({ username: 'kuser', password: 'kc-secret-pw' });
    expect(r.removed).toBe(true);
    expect(r.after).toBeNull();
    expect(existsSync(authFile)).toBe(false);
  });

  test('without a session bus: no keychain, the 0600 file is used instead', () => {
    const authFile = join(dir, 'file-auth.json');
    const r = runChild(false, authFile);
    expect(r.saved).toEqual({ where: 'file', path: authFile });
    expect(r.source).toBe('auth-file');
    expect(r.removed).toBe(true);
  });
});
