/** Media types of the OCI image spec and Docker's manifest v2, and what to accept for each. */
export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  OctetStream: 'application/octet-stream',
} as const;

export const IMAGE_MANIFEST_TYPES: readonly string[] = [MediaType.OciManifest, MediaType.DockerManifest];
export const INDEX_TYPES: readonly string[] = [MediaType.OciIndex, MediaType.DockerManifestList];
export const MANIFEST_TYPES: readonly string[] = [...IMAGE_MANIFEST_TYPES, ...INDEX_TYPES];

/**
 * Sent on every manifest GET/HEAD: distribution answers 404 for an OCI manifest unless the OCI
 * type is accepted, and falls back to schema1 conversions when nothing is.
 */
export const MANIFEST_ACCEPT = MANIFEST_TYPES.join(', ');

/** Annotation keys of the image spec the library itself relies on. */
export const Annotation = {
  RefName: 'org.opencontainers.image.ref.name',
  Created: 'org.opencontainers.image.created',
  Title: 'org.opencontainers.image.title',
} as const;

/** The empty JSON blob `{}`: the config of an artifact manifest (image spec 1.1). */
export const EMPTY_JSON = Buffer.from('{}');
export const EMPTY_DESCRIPTOR = {
  mediaType: MediaType.OciEmpty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
} as const;

/** Largest manifest accepted, as the distribution spec recommends; guards memory. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export function isManifestType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && MANIFEST_TYPES.includes(mediaType);
}
export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_TYPES.includes(mediaType);
}

/** A manifest media type from a Content-Type header (parameters dropped), if it is one. */
export function detectManifestTypeHeader(contentType: string | string[] | undefined): string | undefined {
  const v = (Array.isArray(contentType) ? contentType[0] : contentType)?.split(';')[0]?.trim();
  return v && isManifestType(v) ? v : undefined;
}
