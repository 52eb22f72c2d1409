import type { ImageManifest } from '../registry/target.js';
import { SpecError } from './errors.js';
import { MAX_SPEC_BYTES } from './spec.js';
import { locate, type RegistryFlags } from './targets.js';

/** The location cache's layer type (src/trace/location-cache.ts writes documents of this type). */
export const CACHE_LAYER_TYPE = 'application/vnd.compspec.compat.cache.v1+json';

/**
 * A location cache pushed as an OCI artifact (`compat push REF app.cache.json`, or attached to
 * the application's image): its document's text, fetched bounded and verified by digest.
 */
export async function fetchCacheText(ref: string, flags: RegistryFlags = {}): Promise<string> {
  const { fetchBytes, fetchManifest } = await import('../registry/index.js');
  const located = await locate(ref, flags);
  if (!located.reference) throw new SpecError(ref, 'name the cache by tag or digest');
  const { bytes } = await fetchManifest(located.target, located.reference);
  const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
  const layer = (manifest.layers ?? []).find((l) => l.mediaType === CACHE_LAYER_TYPE);
  if (!layer) throw new SpecError(ref, `not a location cache (no ${CACHE_LAYER_TYPE} layer; artifact type ${manifest.artifactType ?? manifest.config?.mediaType ?? 'unknown'})`);
  return (await fetchBytes(located.target, layer, MAX_SPEC_BYTES)).toString('utf8');
}
