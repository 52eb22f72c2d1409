import { createPrivateKey, createSign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A minimal token server for distribution's `auth.token`: checks Basic credentials and issues
 * RS256 JWTs carrying the requested access, with the signing certificate in `x5c`.
 */
export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  /** Tokens issued so far, and the scopes asked for each time. */
  issued: string[][];
  /** Sign the next tokens with a key the registry does not trust (the answer still says 3600 s). */
  untrustedNext: boolean;
  close(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export async function startTokenServer(o: {
  cert: string;
  key: string;
  untrusted: { cert: string; key: string };
  users: Record<string, string>;
}): Promise<TokenServer> {
  const signers = {
    trusted: { key: createPrivateKey(readFileSync(o.key)), der: new X509Certificate(readFileSync(o.cert)).raw },
    untrusted: { key: createPrivateKey(readFileSync(o.untrusted.key)), der: new X509Certificate(readFileSync(o.untrusted.cert)).raw },
  };
  const state = { issued: [] as string[][], untrustedNext: false };
  const service = 'test-registry';
  const issuer = 'test-issuer';
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [u, ...p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (!u || o.users[u] !== p.join(':')) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
        return;
      }
      user = u;
    }
    const access = user
      ? scopes.map((s) => {
          const [type, name, actions] = s.split(':');
          return { type, name, actions: (actions ?? '').split(',').filter(Boolean) };
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const { key, der } = state.untrustedNext ? signers.untrusted : signers.trusted;
    const header = { alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] };
    const claims = { iss: issuer, sub: user ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: `${now}-${Math.random()}`, access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign('RSA-SHA256').update(input).sign(key);
    state.issued.push(scopes);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${input}.${b64url(sig)}`, expires_in: 3600 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    get issued() {
      return state.issued;
    },
    get untrustedNext() {
      return state.untrustedNext;
    },
    set untrustedNext(v: boolean) {
      state.untrustedNext = v;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
