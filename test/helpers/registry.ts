import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * The TCP port `pid` listens on: its socket inodes (/proc/PID/fd) matched against the LISTEN
 * entries of /proc/PID/net/tcp. Undefined while it has none yet.
 */
function listeningPort(pid: number): number | undefined {
  let sockets: Set<string>;
  let table: string;
  try {
    const links = readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return ''; // closed meanwhile
      }
    });
    sockets = new Set(links.flatMap((l) => /^socket:\[(\d+)\]$/.exec(l)?.[1] ?? []));
    table = readFileSync(`/proc/${pid}/net/tcp`, 'utf8');
  } catch {
    return undefined; // the process is gone: the caller sees its exit code
  }
  for (const line of table.split('\n').slice(1)) {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    const f = line.trim().split(/\s+/);
    if (f[3] === '0A' && sockets.has(f[9]!)) return parseInt(f[1]!.split(':')[1]!, 16);
  }
  return undefined;
}

/** Waits (with a deadline) until the registry listens, and returns its port. */
async function waitForListening(child: ChildProcess, stderr: () => string, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${stderr()}`);
    const port = listeningPort(child.pid!);
    if (port !== undefined) return port;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`docker-registry did not listen within ${timeoutMs} ms: ${stderr()}`);
}

/**
 * Starts docker-registry on a port it picks itself (`addr: 127.0.0.1:0`, so no other process can
 * take the port between a probe and the bind); a restart asks for that same port again.
 */
export async function startRegistry(o: RegistryOptions = {}): Promise<TestRegistry> {
  // Removed by dispose(), and after the test file in any case (tempDir's cleanup).
  const dir = fixtureTempDir('registry-test-');
  const config = join(dir, 'config.yml');
  let child: ChildProcess | undefined;
  let port = 0;
  const start = async () => {
    writeFileSync(config, configYaml(dir, port, o));
    const c = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4096)));
    child = c;
    const got = await waitForListening(c, () => err);
    if (port !== 0 && got !== port) throw new Error(`docker-registry restarted on port ${got}, not ${port}`);
    port = got;
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
  try {
    await start();
  } catch (e) {
    await stop(true);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
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
