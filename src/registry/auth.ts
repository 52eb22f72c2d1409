import { RegistryError } from './errors.js';
import type { Credential, CredentialProvider } from './credentials.js';
import { plainHttpFor, Transport, type HttpRequest, type HttpResponse, type HttpStreamResponse, type TransportOptions } from './transport.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `WWW-Authenticate` (RFC 7235): several challenges, quoted values with commas. */
export function parseWwwAuthenticate(header: string | string[] | undefined): Challenge[] {
  const text = Array.isArray(header) ? header.join(', ') : (header ?? '');
  const out: Challenge[] = [];
  let current: Challenge | undefined;
  let i = 0;
  const skip = (chars: string) => {
    while (i < text.length && chars.includes(text[i]!)) i++;
  };
  while (i < text.length) {
    skip(' \t,');
    const start = i;
    while (i < text.length && !' \t,='.includes(text[i]!)) i++;
    const token = text.slice(start, i);
    if (!token) break;
    skip(' \t');
    if (text[i] === '=') {
      i++;
      skip(' \t');
      let value = '';
      if (text[i] === '"') {
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < text.length) i++;
          value += text[i++];
        }
        i++;
      } else {
        const vs = i;
        while (i < text.length && !' \t,'.includes(text[i]!)) i++;
        value = text.slice(vs, i);
      }
      if (current) current.params[token.toLowerCase()] = value;
    } else {
      current = { scheme: token.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/** `repository:NAME:pull,push` for the actions wanted. */
export function repositoryScope(repository: string, actions: readonly string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/** Merges scopes naming the same resource (`repository:x:pull` + `repository:x:push`), sorted. */
export function mergeScopes(scopes: readonly string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const scope of scopes.flatMap((s) => s.split(' ')).filter(Boolean)) {
    const i = scope.lastIndexOf(':');
    if (i < 0) continue;
    const resource = scope.slice(0, i);
    const set = byResource.get(resource) ?? new Set<string>();
    for (const a of scope.slice(i + 1).split(',')) if (a) set.add(a);
    byResource.set(resource, set);
  }
  return [...byResource.entries()].map(([r, a]) => `${r}:${[...a].sort().join(',')}`).sort();
}

export interface ClientOptions extends TransportOptions {
  /** A fixed credential, or a lookup (e.g. `credentialChain()`); anonymous when absent. */
  credentials?: Credential | CredentialProvider;
  /** Completes "unauthorized: …" messages, e.g. `(mytool login HOST)`. */
  loginHint?: (host: string) => string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface AuthorizedRequest extends HttpRequest {
  /** Scopes the request needs, e.g. `repository:foo:pull`. */
  scopes?: string[];
  /** For repository-scoped credential entries. */
  repository?: string;
}

/**
 * Talks to one registry host: anonymous first, then whatever `WWW-Authenticate` asks for.
 * Bearer tokens are cached per scope set; a 401 with a cached token (expired, revoked) fetches a
 * fresh one and retries once.
 */
export class RegistryClient {
  readonly transport: Transport;
  private challenge?: Challenge;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<string>>();
  private credential?: Promise<Credential | undefined>;

  constructor(
    readonly host: string,
    readonly options: ClientOptions = {},
  ) {
    this.transport = new Transport({ ...options, plainHttp: plainHttpFor(host, options) });
  }

  get baseUrl(): string {
    return this.transport.baseUrl(this.host);
  }

  url(path: string): string {
    return new URL(path, this.baseUrl).toString();
  }

  loginHint(): string {
    return this.options.loginHint?.(this.host) ?? `run login for ${this.host}`;
  }

  async send(req: AuthorizedRequest): Promise<HttpResponse> {
    return this.withAuth(req, (headers) => this.transport.request({ ...req, headers }), (r) => r);
  }

  /** `label` names what is downloaded in messages (`blob sha256:…`). */
  async sendStream(req: AuthorizedRequest & { label?: string }): Promise<HttpStreamResponse> {
    return this.withAuth(
      req,
      (headers) => this.transport.stream({ ...req, headers }),
      (r) => r.stream.destroy(),
    );
  }

  /** GET /v2/: checks reachability and, with a credential, that the registry accepts it. */
  async ping(): Promise<void> {
    const res = await this.send({ method: 'GET', url: this.baseUrl, scopes: [] });
    if (res.statusCode === 401) throw this.unauthorized(this.host);
    if (res.statusCode >= 300) throw new RegistryError('SERVER', `${this.host}: /v2/ answered HTTP ${res.statusCode}`, res.statusCode);
  }

  unauthorized(context: string): RegistryError {
    return new RegistryError('UNAUTHORIZED', `${context}: unauthorized: check credentials (${this.loginHint()})`, 401);
  }

  private async withAuth<R extends { statusCode: number; headers: HttpResponse['headers']; url: string }>(
    req: AuthorizedRequest,
    send: (headers: Record<string, string>) => Promise<R>,
    discard: (r: R) => void,
  ): Promise<R> {
    const scopes = mergeScopes(req.scopes ?? []);
    const first = await this.authorization(scopes, req.repository, false);
    const res = await send(first ? { ...req.headers, authorization: first } : { ...req.headers });
    if (res.statusCode !== 401) return res;
    // A 401 from where a redirect led is another host asking, not this registry: answering its
    // challenge would hand it this registry's credentials (directly, or through a token realm it names).
    if (new URL(res.url).origin !== new URL(this.baseUrl).origin) return res;
    const challenges = parseWwwAuthenticate(res.headers['www-authenticate']);
    const challenge = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!challenge) return res;
    this.challenge = challenge;
    const wanted = mergeScopes([...scopes, ...(challenge.params.scope ? [challenge.params.scope] : [])]);
    const second = await this.authorization(wanted, req.repository, true);
    if (!second || second === first) return res;
    discard(res);
    return send({ ...req.headers, authorization: second });
  }

  private async getCredential(repository?: string): Promise<Credential | undefined> {
    const c = this.options.credentials;
    if (typeof c !== 'function') return c;
    // A lookup may run a credential helper: once per client is enough.
    this.credential ??= c(this.host, repository);
    return this.credential;
  }

  /** The Authorization value for these scopes, or undefined to go anonymous. */
  private async authorization(scopes: string[], repository: string | undefined, fresh: boolean): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    const cred = await this.getCredential(repository);
    if (ch.scheme === 'basic') {
      if (!cred?.username) return undefined;
      return `Basic ${Buffer.from(`${cred.username}:${cred.password ?? ''}`).toString('base64')}`;
    }
    if (ch.scheme !== 'bearer') return undefined;
    if (cred?.registryToken) return `Bearer ${cred.registryToken}`;
    const key = scopes.join(' ');
    const cached = this.tokens.get(key);
    if (cached && !fresh && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    if (fresh) this.tokens.delete(key);
    let p = this.pending.get(key);
    if (!p) {
      p = this.fetchToken(ch, scopes, cred).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return `Bearer ${await p}`;
  }

  /** Docker's token protocol (GET with Basic) or OAuth2 refresh-token exchange (POST). */
  private async fetchToken(ch: Challenge, scopes: string[], cred: Credential | undefined): Promise<string> {
    const realm = ch.params.realm;
    if (!realm) throw new RegistryError('PROTOCOL', `${this.host}: bearer challenge without realm`);
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm);
    } catch {
      throw new RegistryError('PROTOCOL', `${this.host}: invalid token realm`);
    }
    const service = ch.params.service;
    let res: HttpResponse;
    if (cred?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.identityToken, client_id: 'oci-registry-client' });
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await this.transport.request({
        method: 'POST',
        url: realmUrl.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
      });
    } else {
      if (service) realmUrl.searchParams.set('service', service);
      for (const s of scopes) realmUrl.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (cred?.username) headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password ?? ''}`).toString('base64')}`;
      res = await this.transport.request({ method: 'GET', url: realmUrl.toString(), headers });
    }
    if (res.statusCode === 401 || res.statusCode === 403) throw this.unauthorized(this.host);
    if (res.statusCode !== 200) throw new RegistryError('SERVER', `${this.host}: token service ${realmUrl.host} answered HTTP ${res.statusCode}`, res.statusCode);
    let body: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      body = JSON.parse(res.body.toString('utf8')) as typeof body;
    } catch {
      throw new RegistryError('PROTOCOL', `${this.host}: token service ${realmUrl.host} sent no JSON`);
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError('PROTOCOL', `${this.host}: token service ${realmUrl.host} sent no token`);
    // The spec's default lifetime is 60 s; renew a little early so a request never races expiry.
    const lifetime = Math.max(10, Number(body.expires_in) || 60);
    this.tokens.set(scopes.join(' '), { token, expiresAt: Date.now() + (lifetime - 5) * 1000 });
    return token;
  }
}

/** One client per host and settings, so tokens are shared between repositories of a registry. */
export class ClientPool {
  private readonly clients = new Map<string, RegistryClient>();
  constructor(readonly options: ClientOptions = {}) {}
  get(host: string): RegistryClient {
    let c = this.clients.get(host);
    if (!c) {
      c = new RegistryClient(host, this.options);
      this.clients.set(host, c);
    }
    return c;
  }
}
