import { describe, expect, test } from '@jest/globals';
import { parseReference, parseRepository, RegistryError, isRegistryError } from '../../src/registry/index.js';
import { parseWwwAuthenticate, mergeScopes } from '../../src/registry/auth.js';
import { registryHost } from '../../src/registry/login.js';

const D = 'sha256:' + 'a'.repeat(64);

describe('parseReference', () => {
  test.each([
    ['127.0.0.1:5000/foo:bar', '127.0.0.1:5000', 'foo', 'bar', undefined],
    ['localhost/foo/bar', 'localhost', 'foo/bar', undefined, undefined],
    ['localhost:5000/a/b/c:v1.2-x', 'localhost:5000', 'a/b/c', 'v1.2-x', undefined],
    [`ghcr.io/org/app@${D}`, 'ghcr.io', 'org/app', undefined, D],
    [`ghcr.io/org/app:v1@${D}`, 'ghcr.io', 'org/app', 'v1', D],
    ['alpine', 'docker.io', 'library/alpine', undefined, undefined],
    ['alpine:3.19', 'docker.io', 'library/alpine', '3.19', undefined],
    ['user/app:1', 'docker.io', 'user/app', '1', undefined],
    ['docker.io/alpine', 'docker.io', 'library/alpine', undefined, undefined],
    ['index.docker.io/user/app', 'docker.io', 'user/app', undefined, undefined],
    ['[::1]:5000/foo:tag', '[::1]:5000', 'foo', 'tag', undefined],
    ['Registry/foo', 'Registry', 'foo', undefined, undefined],
    ['my-registry.example.com/a__b/c.d/e-f', 'my-registry.example.com', 'a__b/c.d/e-f', undefined, undefined],
  ])('%s', (input, registry, repository, tag, digest) => {
    const r = parseReference(input);
    expect([r.registry, r.repository, r.tag, r.digest]).toEqual([registry, repository, tag, digest]);
  });

  test('Docker Hub goes to its API host; others keep theirs', () => {
    expect(parseReference('alpine').apiHost).toBe('registry-1.docker.io');
    expect(parseReference('127.0.0.1:5000/x').apiHost).toBe('127.0.0.1:5000');
  });

  test('reference prefers the digest, then the tag, then latest', () => {
    expect(parseReference(`h.io/a:t@${D}`).reference).toBe(D);
    expect(parseReference('h.io/a:t').reference).toBe('t');
    expect(parseReference('h.io/a').reference).toBe('latest');
  });

  test('round-trips through toString', () => {
    for (const s of ['127.0.0.1:5000/foo:bar', `ghcr.io/org/app:v1@${D}`, 'docker.io/library/alpine:3']) {
      expect(parseReference(s).toString()).toBe(s);
    }
    expect(parseReference('alpine').toString()).toBe('docker.io/library/alpine');
  });

  test.each([
    ['', 'empty'],
    ['host.io/Foo', 'lowercase'],
    ['host.io/foo:', 'tag'],
    ['host.io/foo:-bad', 'tag'],
    [`host.io/foo@sha256:abc`, 'digest'],
    ['host.io/foo@md5:' + 'a'.repeat(32), 'digest'],
    ['host.io//foo', 'empty path'],
    ['host.io/foo bar', 'whitespace'],
    ['https://host.io/foo', 'scheme'],
    ['host.io:99999/foo', 'port'],
    ['host.io:abc/foo', 'port'],
    ['host.io/foo/', 'empty path'],
    ['host.io/-foo', 'path component'],
    ['host.io/' + 'a'.repeat(300), 'longer'],
  ])('refuses %j clearly', (input, why) => {
    let err: unknown;
    try {
      parseReference(input);
    } catch (e) {
      err = e;
    }
    expect(isRegistryError(err, 'INVALID_REFERENCE')).toBe(true);
    const e = err as RegistryError;
    expect(e.expose).toBe(true);
    expect(e.message).toContain('invalid reference');
    expect(e.message).toContain(why);
    expect(e.message).not.toContain('\n');
  });

  test('parseRepository refuses a tag', () => {
    expect(parseRepository('h.io/a/b').repository).toBe('a/b');
    expect(() => parseRepository('h.io/a:b')).toThrow(/without tag/);
  });

  test('withReference picks tag or digest by form', () => {
    const r = parseReference('h.io/a:t');
    expect(r.withReference(D).toString()).toBe(`h.io/a@${D}`);
    expect(r.withReference('x').toString()).toBe('h.io/a:x');
    expect(() => r.withReference('bad tag')).toThrow(RegistryError);
  });

  test('registryHost normalises what users type', () => {
    expect(registryHost('https://127.0.0.1:5000/')).toEqual({ registry: '127.0.0.1:5000', apiHost: '127.0.0.1:5000' });
    expect(registryHost('docker.io').apiHost).toBe('registry-1.docker.io');
    expect(() => registryHost('not a host')).toThrow(RegistryError);
  });
});

describe('WWW-Authenticate and scopes', () => {
  test('parses bearer challenges with quoted commas', () => {
    const [c] = parseWwwAuthenticate('Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push"');
    expect(c).toEqual({ scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'reg', scope: 'repository:a/b:pull,push' } });
  });
  test('parses several challenges and bare values', () => {
    const cs = parseWwwAuthenticate('Basic realm="r", Bearer realm=x, error="insufficient_scope"');
    expect(cs.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(cs[1]?.params).toEqual({ realm: 'x', error: 'insufficient_scope' });
  });
  test('merges actions of one resource', () => {
    expect(mergeScopes(['repository:a:pull', 'repository:a:push', 'repository:b:pull'])).toEqual(['repository:a:pull,push', 'repository:b:pull']);
  });
});
