// Which uris `compat serve --registry/--allow-registry` lets through: the pattern rules, by example.
import { describe, expect, it } from '@jest/globals';
import { RegistryFlagError, RegistryNotAllowed, RegistryPolicy } from '../../src/service/registry-policy.js';

const admitted = (policy: RegistryPolicy, uri: string) => {
  try {
    policy.admit(uri);
    return true;
  } catch (e) {
    if (e instanceof RegistryNotAllowed) return false;
    throw e;
  }
};

describe('RegistryPolicy', () => {
  it('no flags: nothing is allowed', () => {
    const p = RegistryPolicy.from({});
    expect(admitted(p, 'registry.example.org/app:1')).toBe(false);
    expect(admitted(p, 'localhost:5000/app:1')).toBe(false);
  });

  it('a host: that host, in any case, on the port it names (none means none)', () => {
    const p = RegistryPolicy.from({ allow: ['Registry.Example.org', 'localhost:5000'] });
    expect(admitted(p, 'registry.example.org/team/app:1')).toBe(true);
    expect(admitted(p, 'REGISTRY.example.org/team/app:1')).toBe(true);
    expect(admitted(p, 'registry.example.org:8443/app:1')).toBe(false);
    expect(admitted(p, 'evil-registry.example.org/app:1')).toBe(false);
    expect(admitted(p, 'registry.example.org.evil.com/app:1')).toBe(false);
    expect(admitted(p, 'localhost:5000/app:1')).toBe(true);
    expect(admitted(p, 'localhost:5001/app:1')).toBe(false);
    expect(admitted(p, 'localhost/app:1')).toBe(false);
  });

  it('*.domain: hosts below the domain, not the domain itself', () => {
    const p = RegistryPolicy.from({ allow: ['*.corp.example'] });
    expect(admitted(p, 'a.corp.example/app:1')).toBe(true);
    expect(admitted(p, 'a.b.corp.example/app:1')).toBe(true);
    expect(admitted(p, 'corp.example/app:1')).toBe(false);
    expect(admitted(p, 'evilcorp.example/app:1')).toBe(false);
    expect(admitted(p, 'a.corp.example:5000/app:1')).toBe(false);
  });

  it('--registry is allowed; Docker Hub only when named, and never for a uri without a host', () => {
    const p = RegistryPolicy.from({ credentialHost: 'index.docker.io' });
    expect(admitted(p, 'docker.io/library/ubuntu:24.04')).toBe(true);
    expect(admitted(p, 'index.docker.io/library/ubuntu:24.04')).toBe(true);
    expect(() => p.admit('ubuntu:24.04')).toThrow(/names no registry host.*docker\.io\/library\/ubuntu:24\.04 for Docker Hub/);
    expect(() => p.admit('library/ubuntu')).toThrow(RegistryNotAllowed);
  });

  it('a uri that is no reference keeps its own message', () => {
    expect(() => RegistryPolicy.from({ allow: ['localhost:5000'] }).admit('not a reference')).toThrow(/invalid reference "not a reference": contains whitespace/);
  });

  it('malformed flags are refused with the flag named', () => {
    for (const [allow, credentialHost] of [[['*'], undefined], [['a.*.example'], undefined], [['https://x.example'], undefined], [['x.example/path'], undefined], [['nodots'], undefined], [[], 'x.example:99999'], [[], '*.x.example']] as const) {
      expect(() => RegistryPolicy.from({ allow: [...allow], credentialHost })).toThrow(RegistryFlagError);
    }
    expect(() => RegistryPolicy.from({ allow: ['*'] })).toThrow(/^--allow-registry \*: /);
    expect(() => RegistryPolicy.from({ credentialHost: 'a b' })).toThrow(/^--registry a b: not a registry host/);
  });
});
