import { isIndex } from './manifest.js';
import { Annotation } from './media-types.js';
import type { Descriptor, Manifest } from './target.js';

/** One file of an artifact: a titled layer. */
export interface FileSummary {
  title: string;
  digest: string;
  mediaType: string;
  size: number;
}

/** What push, attach, pull and copy print as JSON: one shape for all of them. */
export interface ArtifactSummary {
  /** As the user named it. */
  reference: string;
  digest: string;
  mediaType: string;
  artifactType?: string;
  /** The manifest's own bytes. */
  size: number;
  /** The manifest with everything it points at (config and layers, or child manifests). */
  totalSize: number;
  files: FileSummary[];
}

export function artifactSummary(reference: string, descriptor: Descriptor, manifest: Manifest): ArtifactSummary {
  const children = isIndex(manifest) ? manifest.manifests : [manifest.config, ...(manifest.layers ?? [])];
  const layers = isIndex(manifest) ? [] : (manifest.layers ?? []);
  const artifactType = manifest.artifactType ?? descriptor.artifactType;
  return {
    reference,
    digest: descriptor.digest,
    mediaType: descriptor.mediaType,
    ...(artifactType ? { artifactType } : {}),
    size: descriptor.size,
    totalSize: descriptor.size + children.reduce((a, d) => a + (d?.size ?? 0), 0),
    files: layers.flatMap((d) => {
      const title = d.annotations?.[Annotation.Title];
      return title === undefined ? [] : [{ title, digest: d.digest, mediaType: d.mediaType, size: d.size }];
    }),
  };
}
