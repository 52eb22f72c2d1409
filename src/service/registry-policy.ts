import { parseReference } from '../registry/reference.js';

/** A flag the daemon cannot start with (a malformed host or pattern): the operator's input. */
export class RegistryFlagError extends Error {
  readonly expose = true;
}

/** A uri the daemon will not fetch: the caller's input, answered status ERROR. */
export class RegistryNotAllowed extends Error {
  readonly expose = true;
}

/** `host[:port]` or `*.domain[:port]`, lower-cased; Docker Hub's aliases are one name, docker.io. */
interface HostPattern {
  /** For `*.domain`: the domain a host must end in (below it, never the domain itself). */
  domain?: string;
  host?: string;
  /** A pattern without a port matches only references without one. */
  port?: string;
}

function splitPort(host: string): { name: string; port?: string } {
  const at = host.startsWith('[') ? host.indexOf(']') + 1 : host.lastIndexOf(':') < 0 ? host.length : host.lastIndexOf(':');
  return at < host.length ? { name: host.slice(0, at), port: host.slice(at + 1) } : { name: host };
}

/** A registry host as a reference names it (docker's grammar), or throws naming the flag. */
export function parseRegistryHost(text: string, flag: string): string {
  const t = text.trim().toLowerCase();
  const fail = () => new RegistryFlagError(`${flag} ${text}: not a registry host (HOST[:PORT], e.g. registry.example.org or localhost:5000)`);
  if (t === '' || /[\s/@]/.test(t)) throw fail();
  let registry: string;
  try {
    registry = parseReference(`${t}/probe`, { defaultRegistry: null }).registry;
  } catch {
    throw fail();
  }
  // Docker Hub's aliases parse to docker.io; anything else must come back as written.
  if (registry !== t && registry !== 'docker.io') throw fail();
  return registry;
}

function parsePattern(text: string, flag: string): HostPattern {
  const t = text.trim().toLowerCase();
  if (t.startsWith('*.')) {
    const { name, port } = splitPort(parseRegistryHost(t.slice(2), flag));
    return { domain: name, ...(port !== undefined ? { port } : {}) };
  }
  if (t.includes('*')) throw new RegistryFlagError(`${flag} ${text}: a wildcard is only a leading *. (e.g. *.registry.example.org); name the registries allowed`);
  const { name, port } = splitPort(parseRegistryHost(t, flag));
  return { host: name, ...(port !== undefined ? { port } : {}) };
}

function matches(p: HostPattern, registry: string): boolean {
  const { name, port } = splitPort(registry.toLowerCase());
  if (p.port !== port) return false;
  return p.domain !== undefined ? name.endsWith(`.${p.domain}`) : name === p.host;
}

/**
 * Which registries the daemon pulls from for a caller's `uri`. Checked before any connection: a
 * uri naming another host is refused, and so is one naming no host at all (docker would send it
 * to Docker Hub; a daemon acting for others must not pick a registry for them).
 */
export class RegistryPolicy {
  private constructor(private readonly patterns: HostPattern[]) {}

  /** `allow` patterns (`--allow-registry`), plus the host the flag credentials are for (`--registry`). */
  static from(opts: { allow?: string[]; credentialHost?: string }): RegistryPolicy {
    const patterns = (opts.allow ?? []).map((a) => parsePattern(a, '--allow-registry'));
    if (opts.credentialHost !== undefined) patterns.push(parsePattern(parseRegistryHost(opts.credentialHost, '--registry'), '--registry'));
    return new RegistryPolicy(patterns);
  }

  /** Throws RegistryNotAllowed (or the reference's own error) unless `uri` may be fetched. */
  admit(uri: string): void {
    const ref = parseReference(uri);
    try {
      parseReference(uri, { defaultRegistry: null });
    } catch {
      throw new RegistryNotAllowed(`names no registry host, and this daemon does not assume Docker Hub: name the registry (${ref.toString()} for Docker Hub) and allow it`);
    }
    if (!this.patterns.some((p) => matches(p, ref.registry))) {
      throw new RegistryNotAllowed(`registry ${ref.registry} is not allowed: this daemon pulls only from the registries of its --registry and --allow-registry flags`);
    }
  }
}
