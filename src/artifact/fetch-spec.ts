import type { RegistryFlags } from './targets.js';

export type { RegistryFlags };

/**
 * The spec a registry reference names, pulled through the node's store: its text and the digest
 * of the manifest it came from; for an image or an index, the newest compat artifact among its
 * referrers (find-spec.ts). `signal` abandons the registry requests.
 */
export async function fetchSpecText(uri: string, flags: RegistryFlags & { platform?: string } = {}, signal?: AbortSignal): Promise<{ text: string; digest: string }> {
  const { fetchSpecText: find } = await import('./find-spec.js');
  return find(uri, flags, signal);
}
