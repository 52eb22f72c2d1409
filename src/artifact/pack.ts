import { createHash } from 'node:crypto';
import type { Descriptor, ImageManifest } from '../registry/target.js';
import { SpecError } from './errors.js';
import { ANNOTATIONS, type CompatSpec, MEDIA_TYPES } from './spec.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const EMPTY = Buffer.from('{}');
export const SPEC_FILENAME = 'compat-spec.json';

export interface Blob {
  descriptor: Descriptor;
  content: Buffer;
}

/** A compat artifact ready to push: the manifest and every blob it references. */
export interface PackedArtifact {
  manifest: ImageManifest;
  manifestBytes: Buffer;
  descriptor: Descriptor;
  blobs: Blob[];
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

export function describe(mediaType: string, content: Buffer, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType, digest: sha256(content), size: content.length, ...extra };
}

/** The OCI manifest of a compat artifact (DESIGN.md: image manifest v1.1, empty config, one spec layer). */
export function packSpec(spec: CompatSpec, opts: { subject?: Descriptor; created?: Date; annotations?: Record<string, string>; layerAnnotations?: Record<string, string> } = {}): PackedArtifact {
  const specBytes = Buffer.from(`${JSON.stringify(spec, null, 2)}\n`);
  const layer = describe(MEDIA_TYPES.spec, specBytes, { annotations: { ...opts.layerAnnotations, 'org.opencontainers.image.title': SPEC_FILENAME } });
  const config = describe(OCI_EMPTY, EMPTY);
  const created = (opts.created ?? (spec.created ? new Date(spec.created) : new Date())).toISOString();
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: MEDIA_TYPES.artifact,
    config,
    layers: [layer],
    ...(opts.subject ? { subject: { mediaType: opts.subject.mediaType, digest: opts.subject.digest, size: opts.subject.size } } : {}),
    annotations: { ...specAnnotations(spec, created), ...opts.annotations },
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return {
    manifest,
    manifestBytes,
    descriptor: describe(OCI_MANIFEST, manifestBytes, { artifactType: MEDIA_TYPES.artifact }),
    blobs: [
      { descriptor: config, content: EMPTY },
      { descriptor: layer, content: specBytes },
    ],
  };
}

/** A compat artifact's own manifest annotations: when, what, for which platform. */
export function specAnnotations(spec: CompatSpec, created: string): Record<string, string> {
  return {
    'org.opencontainers.image.created': created,
    'org.opencontainers.image.title': spec.name ?? SPEC_FILENAME,
    [ANNOTATIONS.name]: spec.name ?? '',
    [ANNOTATIONS.platform]: `${spec.platform.os}/${spec.platform.architecture}`,
  };
}

/** What a manifest is, as `list` and `discover` name it; compat never mistakes a neighbour for its own. */
export type ArtifactKind = 'compat' | 'nfd-image-compatibility' | 'compspec' | 'image' | 'index' | 'other';

export function classify(m: { mediaType?: string; artifactType?: string; config?: { mediaType: string }; layers?: Descriptor[] }): ArtifactKind {
  const type = m.artifactType ?? m.config?.mediaType;
  if (type === MEDIA_TYPES.artifact) return 'compat';
  if (type === MEDIA_TYPES.nfd) return 'nfd-image-compatibility';
  if (type === MEDIA_TYPES.legacy) return 'compspec';
  if (m.mediaType?.includes('index') || m.mediaType?.includes('manifest.list')) return 'index';
  if (type === 'application/vnd.oci.image.config.v1+json' || type === 'application/vnd.docker.container.image.v1+json') return 'image';
  return 'other';
}

/** The spec layer of a compat artifact manifest; anything else is refused by name. */
export function specLayerOf(manifest: ImageManifest, ref: string): Descriptor {
  const kind = classify(manifest);
  if (kind !== 'compat') throw new SpecError(ref, `not a compat artifact (${kind === 'other' ? `artifact type ${manifest.artifactType ?? manifest.config?.mediaType ?? 'unknown'}` : kind})`);
  const layer = manifest.layers.find((l) => l.mediaType === MEDIA_TYPES.spec);
  if (!layer) throw new SpecError(ref, `compat artifact has no ${MEDIA_TYPES.spec} layer`);
  return layer;
}
