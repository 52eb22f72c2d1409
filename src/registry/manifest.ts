import { digestOf, splitDigest } from './digest.js';
import { RegistryError, manifestTooLarge } from './errors.js';
import { EMPTY_DESCRIPTOR, MediaType, isIndexType, IMAGE_MANIFEST_TYPES, INDEX_TYPES, MAX_MANIFEST_BYTES } from './media-types.js';
import type { Descriptor, ImageIndex, ImageManifest, Manifest } from './target.js';

/** The media type a manifest says it has, or what its shape implies (OCI makes the field optional). */
export function detectManifestType(json: unknown, fallback?: string): string {
  const m = json as { mediaType?: unknown; manifests?: unknown; config?: unknown; schemaVersion?: unknown };
  if (typeof m?.mediaType === 'string' && m.mediaType) return m.mediaType;
  if (fallback && (IMAGE_MANIFEST_TYPES.includes(fallback) || INDEX_TYPES.includes(fallback))) return fallback;
  if (Array.isArray(m?.manifests)) return MediaType.OciIndex;
  if (m?.config && typeof m.config === 'object') return MediaType.OciManifest;
  return fallback ?? MediaType.OciManifest;
}

/** Parses and sanity-checks manifest bytes; `label` names it in errors. */
export function parseManifest(bytes: Buffer, label: string): Manifest {
  if (bytes.length > MAX_MANIFEST_BYTES) throw manifestTooLarge(label);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new RegistryError('INVALID_MANIFEST', `${label}: manifest is not valid JSON`);
  }
  const m = json as Partial<ImageManifest & ImageIndex> | null;
  if (!m || typeof m !== 'object') throw new RegistryError('INVALID_MANIFEST', `${label}: manifest is not a JSON object`);
  if (m.schemaVersion !== 2) throw new RegistryError('UNSUPPORTED', `${label}: manifest schemaVersion ${String(m.schemaVersion)} not supported (need 2)`);
  const descriptors = [...(m.manifests ?? []), ...(m.layers ?? []), ...(m.config ? [m.config] : []), ...(m.subject ? [m.subject] : [])];
  for (const d of descriptors) {
    if (!d || typeof d.mediaType !== 'string' || typeof d.digest !== 'string' || typeof d.size !== 'number' || d.size < 0) {
      throw new RegistryError('INVALID_MANIFEST', `${label}: manifest holds an invalid descriptor`);
    }
    try {
      splitDigest(d.digest);
    } catch {
      throw new RegistryError('INVALID_MANIFEST', `${label}: manifest holds an invalid digest`);
    }
  }
  if (!Array.isArray(m.manifests) && !(m.config && Array.isArray(m.layers ?? []))) {
    throw new RegistryError('INVALID_MANIFEST', `${label}: neither an image manifest nor an index`);
  }
  return m as Manifest;
}

export function isIndex(m: Manifest): m is ImageIndex {
  return Array.isArray((m as ImageIndex).manifests);
}

/** What a manifest points at (config, layers, or child manifests); the subject is not a child. */
export function manifestChildren(m: Manifest): Descriptor[] {
  if (isIndex(m)) return m.manifests;
  return [m.config, ...(m.layers ?? [])];
}

/** The artifact type as the referrers API reports it: `artifactType`, else the config's type. */
export function artifactTypeOf(m: Manifest): string | undefined {
  if (m.artifactType) return m.artifactType;
  return isIndex(m) ? undefined : m.config?.mediaType;
}

/** A descriptor for manifest bytes. */
export function manifestDescriptor(bytes: Buffer, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType, digest: digestOf(bytes), size: bytes.length, ...extra };
}

export interface ArtifactManifestInput {
  artifactType?: string;
  /** Defaults to the empty descriptor (`{}`), as image spec 1.1 recommends for artifacts. */
  config?: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** Builds an OCI image manifest (v1.1 artifact form); returns the exact bytes to push. */
export function buildManifest(input: ArtifactManifestInput): { manifest: ImageManifest; bytes: Buffer; descriptor: Descriptor } {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    ...(input.artifactType ? { artifactType: input.artifactType } : {}),
    config: input.config ?? { ...EMPTY_DESCRIPTOR },
    layers: input.layers.length ? input.layers : [{ ...EMPTY_DESCRIPTOR }],
    ...(input.subject ? { subject: stripDescriptor(input.subject) } : {}),
    ...(input.annotations && Object.keys(input.annotations).length ? { annotations: input.annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const descriptor = manifestDescriptor(bytes, MediaType.OciManifest, {
    ...(input.artifactType ? { artifactType: input.artifactType } : {}),
  });
  return { manifest, bytes, descriptor };
}

export function buildIndex(manifests: Descriptor[], extra: Partial<ImageIndex> = {}): { index: ImageIndex; bytes: Buffer; descriptor: Descriptor } {
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, ...extra, manifests };
  const bytes = Buffer.from(JSON.stringify(index));
  return { index, bytes, descriptor: manifestDescriptor(bytes, MediaType.OciIndex) };
}

/** Only the identifying fields: a subject or child entry should not carry stale embedded data. */
export function stripDescriptor(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

/** The referrers fallback tag (distribution spec 1.1): `<alg>-<hex>`, truncated as the spec says. */
export function referrersTag(digest: string): string {
  const { algorithm, hex } = splitDigest(digest);
  return `${algorithm.slice(0, 32)}-${hex.slice(0, 64)}`;
}

/** The descriptor a referrers index lists for a manifest. */
export function referrerDescriptor(desc: Descriptor, m: Manifest): Descriptor {
  const at = artifactTypeOf(m);
  return {
    mediaType: desc.mediaType,
    digest: desc.digest,
    size: desc.size,
    ...(at ? { artifactType: at } : {}),
    ...(m.annotations ? { annotations: m.annotations } : {}),
  };
}

export { isIndexType };
