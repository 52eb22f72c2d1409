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

/**
 * The spec a registry reference names, pulled through the node's store: its text and the digest
 * of the manifest it came from. `signal` abandons the registry requests.
 */
export async function fetchSpecText(uri: string, flags: RegistryFlags = {}, signal?: AbortSignal): Promise<{ text: string; digest: string }> {
  const { fetchSpecFromRegistry } = await import('./transfer.js');
  return fetchSpecFromRegistry(uri, signal ? { ...flags, signal } : flags);
}
