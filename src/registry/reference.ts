import { isDigest } from './digest.js';
import { RegistryError } from './errors.js';

/** Docker Hub's names: what users write, and the host that actually serves the API. */
export const DOCKER_HUB = 'docker.io';
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

// Grammar of distribution's reference package (the one docker and ORAS follow).
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^\[[0-9a-fA-F:.]+(?:%[\w.-]+)?\]$/;
const MAX_NAME_LENGTH = 255;

/**
 * A parsed `host[:port]/path[:tag][@digest]`. `registry` is the host as users name it
 * (`docker.io` for Docker Hub); `apiHost` is where requests go.
 */
export class Reference {
  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly tag?: string,
    readonly digest?: string,
  ) {}

  /** Where API requests go: Docker Hub's name maps to its API host. */
  get apiHost(): string {
    return DOCKER_HUB_ALIASES.has(this.registry) ? DOCKER_HUB_API_HOST : this.registry;
  }

  /** What to resolve: the digest when pinned, else the tag, else `latest` (docker's default). */
  get reference(): string {
    return this.digest ?? this.tag ?? 'latest';
  }

  /** `registry/repository`, without tag or digest. */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  withTag(tag: string): Reference {
    validateTag(tag, `${this.name}:${tag}`);
    return new Reference(this.registry, this.repository, tag, undefined);
  }

  withDigest(digest: string): Reference {
    if (!isDigest(digest)) throw invalid(`${this.name}@${digest}`, 'digest must be sha256:<64 hex> or sha512:<128 hex>');
    return new Reference(this.registry, this.repository, undefined, digest);
  }

  /** Same repository, another tag or digest (`:tag` vs `@digest` chosen by the form of `ref`). */
  withReference(ref: string): Reference {
    return isDigest(ref) ? this.withDigest(ref) : this.withTag(ref);
  }

  toString(): string {
    let s = this.name;
    if (this.tag !== undefined) s += `:${this.tag}`;
    if (this.digest !== undefined) s += `@${this.digest}`;
    return s;
  }
}

export interface ParseReferenceOptions {
  /**
   * Registry to assume when the string names none (docker assumes Docker Hub); `null` refuses such
   * a string instead (a server acting for others should not pick a registry for them).
   */
  defaultRegistry?: string | null;
}

/** Parses a reference as docker and ORAS do; tag and digest are both optional. */
export function parseReference(input: string, opts: ParseReferenceOptions = {}): Reference {
  const s = input.trim();
  if (s === '') throw invalid(input, 'empty reference');
  if (/\s/.test(s)) throw invalid(input, 'contains whitespace');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) throw invalid(input, 'a reference has no scheme (drop the https:// part)');

  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw invalid(input, 'digest must be sha256:<64 hex> or sha512:<128 hex>');
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    validateTag(tag, input);
  }

  let registry: string;
  let path: string;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? rest : rest.slice(0, slash);
  if (slash >= 0 && looksLikeHost(first)) {
    registry = first;
    path = rest.slice(slash + 1);
    validateHost(registry, input);
  } else {
    if (opts.defaultRegistry === null) throw invalid(input, 'names no registry host');
    registry = opts.defaultRegistry ?? DOCKER_HUB;
    path = rest;
  }
  if (path === '') throw invalid(input, 'missing repository name');
  if (DOCKER_HUB_ALIASES.has(registry)) {
    registry = DOCKER_HUB;
    if (!path.includes('/')) path = `library/${path}`;
  }
  for (const component of path.split('/')) {
    if (component === '') throw invalid(input, 'empty path component');
    if (!PATH_COMPONENT.test(component)) {
      const why = /[A-Z]/.test(component) ? 'repository names must be lowercase' : `invalid path component "${component}"`;
      throw invalid(input, why);
    }
  }
  if (registry.length + 1 + path.length > MAX_NAME_LENGTH) throw invalid(input, `name longer than ${MAX_NAME_LENGTH} characters`);
  return new Reference(registry, path, tag, digest);
}

/** Parses `host[:port]/path` and refuses a tag or digest (for listing tags of a repository). */
export function parseRepository(input: string, opts: ParseReferenceOptions = {}): Reference {
  const ref = parseReference(input, opts);
  if (ref.tag !== undefined || ref.digest !== undefined) throw invalid(input, 'expected a repository without tag or digest');
  return ref;
}

function looksLikeHost(component: string): boolean {
  // Docker's rule: a first component with a dot, a port, `localhost`, or capitals is a host.
  return component.includes('.') || component.includes(':') || component === 'localhost' || /[A-Z]/.test(component) || component.startsWith('[');
}

function validateHost(host: string, input: string): void {
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0) throw invalid(input, 'unterminated IPv6 host');
    const name = host.slice(0, close + 1);
    const after = host.slice(close + 1);
    if (after !== '' && !/^:\d{1,5}$/.test(after)) throw invalid(input, 'invalid port');
    if (!IPV6_HOST.test(name)) throw invalid(input, `invalid host "${host}"`);
  } else {
    const portMatch = /^(.*?)(?::(\d+))?$/.exec(host);
    const name = portMatch?.[1] ?? '';
    const port = portMatch?.[2];
    if (host.includes(':') && port === undefined) throw invalid(input, 'invalid port');
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) throw invalid(input, 'port out of range');
    if (name === '' || !name.split('.').every((c) => DOMAIN_COMPONENT.test(c))) throw invalid(input, `invalid host "${host}"`);
  }
}

function validateTag(tag: string, input: string): void {
  if (!TAG.test(tag)) throw invalid(input, 'tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}');
}

function invalid(input: string, why: string): RegistryError {
  return new RegistryError('INVALID_REFERENCE', `invalid reference ${JSON.stringify(input)}: ${why}`);
}
