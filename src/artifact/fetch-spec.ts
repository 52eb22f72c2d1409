import type { RegistryFlags } from './targets.js';

export type { RegistryFlags };

/**
 * The spec a registry reference names, pulled through the node's store: its text and the digest
 * of the manifest it came from. `signal` abandons the registry requests.
 */
export async function fetchSpecText(uri: string, flags: RegistryFlags = {}, signal?: AbortSignal): Promise<{ text: string; digest: string }> {
  const { fetchSpecFromRegistry } = await import('./transfer.js');
  return fetchSpecFromRegistry(uri, signal ? { ...flags, signal } : flags);
}
