import { SpecError } from './errors.js';

/** How to reach a registry: the same flags as `pull`. */
export interface RegistryFlags {
  plainHttp?: boolean;
  insecure?: boolean;
  caFile?: string;
  username?: string;
  password?: string;
  /** An OCI image layout directory standing in for the registry. */
  ociLayout?: string;
}

/**
 * The spec a registry reference names, pulled through the node's store: its text and the digest
 * of the manifest it came from.
 */
export async function fetchSpecText(uri: string, _flags: RegistryFlags = {}): Promise<{ text: string; digest: string }> {
  throw new SpecError(uri, 'registry references are not supported yet');
}
