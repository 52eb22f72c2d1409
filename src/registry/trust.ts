import { Agent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import { RegistryError } from './errors.js';
import { deferredExtraCaCerts } from './extra-ca-file.js';
import { readRegular } from './layout-files.js';

/**
 * Which certificate authorities a registry connection trusts: node's roots, the file named by
 * NODE_EXTRA_CA_CERTS, and `--ca-file` on top (as ORAS adds its CA file to the system pool).
 *
 * Node 20 parses NODE_EXTRA_CA_CERTS, and every bundled root with it, before any script runs: about
 * 50 ms on each start, though most commands never open a TLS connection. The `compat` launcher
 * (bin/compat) therefore hands the file over under another name; `deferExtraCaCerts`
 * (extra-ca-file.ts) takes it, and it is read here when the first connection that needs it is made.
 */
const agents = new Map<string, Promise<Agent>>();
const MAX_AGENTS = 16;
let bundle: { file: string; pem: Promise<Buffer | undefined> } | undefined;

/** Bound of a CA bundle read from NODE_EXTRA_CA_CERTS (Debian's whole bundle is about 200 KiB). */
const MAX_BUNDLE = 16 * 1024 * 1024;

export interface TrustOptions {
  /** PEM text of CA certificates trusted on top of the defaults. */
  ca?: string | Buffer;
  /** A client certificate and its key (mTLS). */
  clientCert?: { cert: Buffer; key: Buffer };
}

/**
 * An agent whose one TLS context holds everything `o` asks for, or undefined when node's default
 * context already does. Built once per caller: a context holding every root costs about 55 ms to
 * make, which node would otherwise pay on every connection given a `ca` option.
 */
export function trustAgent(o: TrustOptions): Promise<Agent | undefined> {
  const deferred = deferredExtraCaCerts();
  if (o.ca === undefined && o.clientCert === undefined && !deferred) return Promise.resolve(undefined);
  const key = [deferred?.file ?? '', String(o.ca ?? ''), String(o.clientCert?.cert ?? ''), String(o.clientCert?.key ?? '')].join('\0');
  let agent = agents.get(key);
  if (!agent) {
    // A daemon reaching registries with ever other settings keeps a bounded set of contexts.
    if (agents.size >= MAX_AGENTS) agents.clear();
    agents.set(key, (agent = makeAgent(o)));
  }
  return agent;
}

async function makeAgent(o: TrustOptions): Promise<Agent> {
  // A CA list replaces node's whole default store, NODE_EXTRA_CA_CERTS included: so name them all.
  // Only a client certificate and nothing deferred: node's default store is already right.
  let ca: Array<string | Buffer> | undefined;
  if (o.ca !== undefined || deferredExtraCaCerts()) {
    const extra = await extraBundle();
    ca = [...rootCertificates, ...(extra ? [extra] : []), ...(o.ca !== undefined ? [o.ca] : [])];
  }
  const secureContext = createSecureContext({ ...(ca ? { ca } : {}), ...(o.clientCert ?? {}) });
  return new Agent({ keepAlive: true, secureContext });
}

/**
 * The NODE_EXTRA_CA_CERTS file, read once. Unreadable, it is ignored with a warning, as node does
 * at start-up (which it did itself unless the launcher deferred the file).
 */
function extraBundle(): Promise<Buffer | undefined> | undefined {
  const deferred = deferredExtraCaCerts();
  const file = deferred?.file ?? process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return undefined;
  if (bundle?.file !== file) {
    const warn = deferred?.warn;
    const pem = readRegular(file, MAX_BUNDLE, file).catch((e: Error) => {
      const why = e instanceof RegistryError ? e.message.replace(`${file}: `, '') : ((e as NodeJS.ErrnoException).code ?? e.message);
      warn?.(`NODE_EXTRA_CA_CERTS=${file}: extra certificates ignored: ${why}`);
      return undefined;
    });
    bundle = { file, pem };
  }
  return bundle.pem;
}
