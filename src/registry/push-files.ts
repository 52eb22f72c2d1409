import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFile, pushFile } from './content.js';
import type { CopyEvent } from './copy.js';
import { isDigest } from './digest.js';
import { buildManifest } from './manifest.js';
import { Annotation, EMPTY_DESCRIPTOR, EMPTY_JSON, MediaType } from './media-types.js';
import type { Descriptor, ImageManifest, ProgressCallback, Target } from './target.js';
import { UNPACK_ANNOTATION } from './write-files.js';

/** ORAS's artifact type when none is given. */
export const UNKNOWN_ARTIFACT = 'application/vnd.unknown.artifact.v1';

/** One file (or directory) of an ORAS-style push. */
export interface FileToPush {
  /** Where it is on disk. */
  path: string;
  /** Its name in the artifact (`org.opencontainers.image.title`): where `pull -o` writes it. */
  title: string;
  /** Default: ORAS's tar layer type for a file, tar+gzip for a directory. */
  mediaType?: string;
  /** Extra layer annotations. */
  annotations?: Record<string, string>;
}

/** A blob to push: bytes in memory, or a file read as a stream. */
export interface BlobToPush {
  descriptor: Descriptor;
  content: Buffer | string;
}

export interface PushFilesOptions {
  artifactType?: string;
  /** Manifest annotations; `org.opencontainers.image.created` is set unless given. */
  annotations?: Record<string, string>;
  subject?: Descriptor;
  /** Where directories are packed: a fresh directory is made under `tmpdir()` with this name prefix. */
  workPrefix?: string;
  onProgress?: ProgressCallback;
  /** Per blob: already there (`exists`), or `start` then `copied`, as copy() reports them. */
  onEvent?: (e: CopyEvent) => void;
}

export interface PushedArtifact {
  descriptor: Descriptor;
  manifest: ImageManifest;
  /** The manifest's bytes (its digest is `descriptor.digest`). */
  bytes: Buffer;
  layers: Descriptor[];
}

/** Pushes each blob the target does not have yet. */
export async function pushBlobs(target: Target, blobs: BlobToPush[], opts: { onProgress?: ProgressCallback; onEvent?: (e: CopyEvent) => void } = {}): Promise<void> {
  const emit = (type: CopyEvent['type'], descriptor: Descriptor) => opts.onEvent?.({ type, descriptor });
  for (const b of blobs) {
    if (await target.exists(b.descriptor)) {
      emit('exists', b.descriptor);
      continue;
    }
    emit('start', b.descriptor);
    if (typeof b.content === 'string') await pushFile(target, b.content, b.descriptor.mediaType, b.descriptor, { onProgress: opts.onProgress });
    else await target.push(b.descriptor, b.content, { onProgress: opts.onProgress });
    emit('copied', b.descriptor);
  }
}

/** Pushes manifest bytes and, when `reference` is a tag, tags them (one request on a registry). */
export async function pushManifestBytes(target: Target, reference: string | undefined, descriptor: Descriptor, bytes: Buffer): Promise<void> {
  if (reference && !isDigest(reference)) await target.pushReference(descriptor, bytes, reference);
  else await target.push(descriptor, bytes);
}

/**
 * Pushes files as ORAS does: one layer per file, titled; a directory packed as tar+gzip (its
 * entries under its title) and marked for unpacking; an empty config; the manifest last, tagged
 * `reference` when that is a tag.
 */
export async function pushFiles(target: Target, reference: string | undefined, files: FileToPush[], opts: PushFilesOptions = {}): Promise<PushedArtifact> {
  const work = mkdtempSync(join(tmpdir(), opts.workPrefix ?? 'oci-push-'));
  try {
    const blobs: BlobToPush[] = [{ descriptor: { ...EMPTY_DESCRIPTOR }, content: EMPTY_JSON }];
    const layers: Descriptor[] = [];
    for (const [i, f] of files.entries()) {
      const layer = await fileLayer(f, join(work, `${i}.tar.gz`));
      layers.push(layer.descriptor);
      blobs.push(layer);
    }
    const { bytes, descriptor, manifest } = buildManifest({
      artifactType: opts.artifactType ?? UNKNOWN_ARTIFACT,
      layers,
      ...(opts.subject ? { subject: opts.subject } : {}),
      annotations: { [Annotation.Created]: new Date().toISOString(), ...opts.annotations },
    });
    await pushBlobs(target, blobs, opts);
    await pushManifestBytes(target, reference, descriptor, bytes);
    return { descriptor, manifest, bytes, layers };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The layer of one file; a directory is first packed into `tarball`. */
async function fileLayer(f: FileToPush, tarball: string): Promise<BlobToPush> {
  const annotations: Record<string, string> = { ...f.annotations, [Annotation.Title]: f.title };
  let path = f.path;
  let mediaType = f.mediaType ?? MediaType.OciLayer;
  if (statSync(f.path).isDirectory()) {
    const tar = await import('tar');
    await tar.create({ gzip: true, file: tarball, cwd: f.path, prefix: f.title, portable: true, noMtime: true }, ['.']);
    path = tarball;
    mediaType = f.mediaType ?? MediaType.OciLayerGzip;
    annotations[UNPACK_ANNOTATION] = 'true';
  }
  const d = await describeFile(path);
  return { descriptor: { mediaType, digest: d.digest, size: d.size, annotations }, content: path };
}
