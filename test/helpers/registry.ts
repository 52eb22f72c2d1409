import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tempDir as fixtureTempDir } from './fixtures.js';

/** A real CNCF distribution (Debian `docker-registry`) on 127.0.0.1, storage in a temp dir. */
export interface TestRegistry {
  host: string;
  port: number;
  dir: string;
  /** Stops the process (SIGKILL when `hard`); storage stays for a restart. */
  stop(hard?: boolean): Promise<void>;
  /** Starts it again on the same port with the same storage. */
  restart(): Promise<void>;
  /** Stops and removes the temp dir. */
  dispose(): Promise<void>;
}

export interface RegistryOptions {
  /** With `clientCa`, the registry asks for a client certificate signed by that CA (mTLS). */
  tls?: { cert: string; key: string; clientCa?: string };
  htpasswd?: string;
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function configYaml(dir: string, port: number, o: RegistryOptions): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'storage')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  if (o.tls) lines.push('  tls:', `    certificate: ${o.tls.cert}`, `    key: ${o.tls.key}`);
  if (o.tls?.clientCa) lines.push('    clientcas:', `      - ${o.tls.clientCa}`);
  if (o.htpasswd) lines.push('auth:', '  htpasswd:', '    realm: test-registry', `    path: ${o.htpasswd}`);
  if (o.token) {
    lines.push('auth:', '  token:', `    realm: ${o.token.realm}`, `    service: ${o.token.service}`, `    issuer: ${o.token.issuer}`, `    rootcertbundle: ${o.token.rootCertBundle}`);
  }
  return lines.join('\n') + '\n';
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('docker-registry did not start in time');
}

export async function startRegistry(o: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'registry-test-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(config, configYaml(dir, port, o));
  let child: ChildProcess | undefined;
  const start = async () => {
    const c = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr?.resume();
    child = c;
    await waitForPort(port, c);
  };
  const stop = async (hard = false) => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill(hard ? 'SIGKILL' : 'SIGTERM');
    });
  };
  await start();
  return {
    host: `127.0.0.1:${port}`,
    port,
    dir,
    stop,
    restart: start,
    dispose: async () => {
      await stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A self-signed certificate for 127.0.0.1 (and localhost), made by openssl. */
export function makeCertificate(dir: string, name = 'server'): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { cert, key };
}

/** A client certificate signed by a CA of its own (for mTLS): the CA's certificate, and the client's pair. */
export function makeClientCertificate(dir: string): { ca: string; cert: string; key: string } {
  const ca = makeCertificate(dir, 'client-ca');
  const key = join(dir, 'client.key');
  const csr = join(dir, 'client.csr');
  const cert = join(dir, 'client.crt');
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=client'], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2'], { stdio: 'ignore' });
  return { ca: ca.cert, cert, key };
}

/** An htpasswd file (bcrypt, as distribution requires) for one user. */
export function makeHtpasswd(dir: string, user: string, password: string): string {
  const path = join(dir, 'htpasswd');
  writeFileSync(path, execFileSync('htpasswd', ['-Bbn', user, password]));
  return path;
}

export function tempDir(prefix = 'registry-test-'): string {
  return fixtureTempDir(prefix);
}
