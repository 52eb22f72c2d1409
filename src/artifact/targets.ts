import { resolve } from 'node:path';
import { isDigest } from '../registry/digest.js';
import type { Target } from '../registry/target.js';

/** How to reach a registry: the same flags as `pull`. */
export interface RegistryFlags {
  /** Unset: plain HTTP for `localhost` only, TLS elsewhere (as ORAS). */
  plainHttp?: boolean;
  insecure?: boolean;
  caFile?: string;
  /** A client certificate and its key (mTLS). */
  certFile?: string;
  keyFile?: string;
  /** One line per HTTP request and response on stderr. */
  verbose?: boolean;
  username?: string;
  password?: string;
  /**
   * The registry host `username`/`password` are for. Unset, they are for the registry of the
   * reference being opened; either way no other host ever receives them.
   */
  credentialHost?: string;
  /** References name OCI image layout directories (`DIR[:tag|@digest]`) instead of registries. */
  ociLayout?: boolean;
  /** Seconds to wait for the registry: to connect, for each answer, for a download to move. */
  timeout?: number;
}

/** What a command names: a target plus the tag or digest inside it. */
export interface Located {
  target: Target;
  /** Tag or digest within the target; undefined for a bare repository. */
  reference?: string;
  /** As the user wrote it, for messages. */
  label: string;
  /** The registry/repository part, when remote (used to place it in the node's store). */
  repository?: { registry: string; repository: string };
}

/** `DIR[:tag|@digest]` as ORAS's --oci-layout reads it. */
export function splitLayoutRef(input: string): { dir: string; reference?: string } {
  const at = input.lastIndexOf('@');
  if (at > 0 && isDigest(input.slice(at + 1))) return { dir: input.slice(0, at), reference: input.slice(at + 1) };
  const colon = input.lastIndexOf(':');
  if (colon > 0 && !input.slice(colon + 1).includes('/')) return { dir: input.slice(0, colon), reference: input.slice(colon + 1) };
  return { dir: input };
}

/** What opens a target: the registry flags, and a signal that abandons its requests. */
export type LocateFlags = RegistryFlags & { signal?: AbortSignal };

/**
 * How to reach the registry `registry` (the host of the reference being opened). Flag credentials
 * are keyed to one host, `flags.credentialHost` or else `registry`: any other host a request ends
 * up at (another registry named by a caller, a redirect) is looked up in the credential store by
 * its own name, never handed these.
 */
export async function remoteOptions(flags: LocateFlags, registry: string) {
  const { ClientPool, credentialChain } = await import('../registry/index.js');
  const explicit = flags.username !== undefined ? { [flags.credentialHost ?? registry]: { username: flags.username, password: flags.password ?? '' } } : undefined;
  const opts = {
    plainHttp: flags.plainHttp,
    insecure: flags.insecure,
    caFile: flags.caFile,
    certFile: flags.certFile,
    keyFile: flags.keyFile,
    onHttp: flags.verbose ? (await import('../registry/transport.js')).httpLogger(process.stderr, 'compat: ') : undefined,
    timeoutMs: flags.timeout !== undefined ? flags.timeout * 1000 : undefined,
    credentials: credentialChain({ appName: 'compat', keychainService: 'compat', explicit }),
    loginHint: (host: string) => `compat login ${host}`,
    signal: flags.signal,
  };
  return { ...opts, pool: new ClientPool(opts) };
}

/** A reference (or, with --oci-layout, a layout directory) opened as a target. */
export async function locate(input: string, flags: LocateFlags, opts: { repositoryOnly?: boolean } = {}): Promise<Located> {
  if (flags.ociLayout) {
    const { OciLayout } = await import('../registry/index.js');
    const { dir, reference } = splitLayoutRef(input);
    return { target: new OciLayout(resolve(dir)), reference, label: input };
  }
  const { RemoteRepository, parseReference, parseRepository } = await import('../registry/index.js');
  const ref = opts.repositoryOnly ? parseRepository(input) : parseReference(input);
  const target = new RemoteRepository(ref, await remoteOptions(flags, ref.registry));
  return { target, reference: ref.digest ?? ref.tag, label: input, repository: { registry: ref.registry, repository: ref.repository } };
}
