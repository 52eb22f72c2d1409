// `-u/-p` on the command line are for the registry of the reference given, and nobody else: not a
// host the registry redirects to, nor a token service that host names.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { compatAsync, isolatedEnv, tempDir } from '../helpers/fixtures.js';
import { type FakeServer, startFakeServer } from '../helpers/registry-fault.js';

const PASSWORD = 'cli-s3cret';
const BASIC = Buffer.from(`alice:${PASSWORD}`).toString('base64');

let dir: string;
let env: Record<string, string>;
const servers: FakeServer[] = [];

beforeAll(() => {
  dir = tempDir('compat-cred-scope-');
  env = isolatedEnv(dir, { HOME: join(dir, 'home') });
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function fake(handler: (req: IncomingMessage, res: ServerResponse, self: () => FakeServer) => void): Promise<FakeServer> {
  let self: FakeServer | undefined;
  const s = await startFakeServer((req, res) => handler(req, res, () => self!));
  self = s;
  servers.push(s);
  return s;
}

const leaked = (s: FakeServer) => s.requests.filter((r) => r.headers.authorization !== undefined || JSON.stringify(r).includes(BASIC));

describe('pull -u/-p against host A', () => {
  for (const scheme of ['Bearer', 'Basic'] as const) {
    it(`A redirects to B, B asks for credentials (${scheme}${scheme === 'Bearer' ? ', token realm on B' : ''}): B never receives them`, async () => {
      const b = await fake((req, res, self) => {
        if (req.url?.startsWith('/token')) {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"b-token"}');
          return;
        }
        const challenge = scheme === 'Bearer' ? `Bearer realm="http://${self().host}/token",service="b"` : 'Basic realm="b"';
        res.writeHead(401, { 'www-authenticate': challenge }).end();
      });
      const a = await fake((req, res) => res.writeHead(307, { location: `http://${b.host}${req.url}` }).end());
      const r = await compatAsync(['pull', '--plain-http', '-u', 'alice', '-p', PASSWORD, `${a.host}/app/spec:1`], { env });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('compat: warning: -p/--password: '))).toHaveLength(1);
      expect(b.requests.length).toBeGreaterThan(0); // the redirect was followed
      expect(leaked(b)).toEqual([]);
    });
  }
});
