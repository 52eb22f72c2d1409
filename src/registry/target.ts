import type { Readable } from 'node:stream';

/** An OCI content descriptor (image spec, descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
  /** Base64 of the content, when embedded (the empty config, small blobs). */
  data?: string;
  platform?: Platform;
}

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

/** OCI image manifest (also read for Docker's manifest v2, which has the same shape). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** OCI image index (also Docker's manifest list). */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type Manifest = ImageManifest | ImageIndex;

/** Bytes moved for one blob or manifest; `total` is the descriptor's size. */
export interface TransferProgress {
  descriptor: Descriptor;
  bytes: number;
  total: number;
}
export type ProgressCallback = (p: TransferProgress) => void;

export interface PushOptions {
  onProgress?: ProgressCallback;
}
export interface FetchOptions {
  onProgress?: ProgressCallback;
}

/**
 * What both a remote repository and an OCI layout directory offer (the oras-go `Target`).
 * `fetch` streams are verified: they fail instead of ending when the content does not match the
 * descriptor, so a consumer that commits only on a clean end never keeps bad bytes.
 */
export interface Target {
  /** Human-readable name for messages (`host/repo`, `oci:DIR`). */
  readonly name: string;
  fetch(desc: Descriptor, opts?: FetchOptions): Promise<Readable>;
  push(desc: Descriptor, content: Readable | Buffer, opts?: PushOptions): Promise<void>;
  exists(desc: Descriptor): Promise<boolean>;
  /** A tag or digest to the descriptor of the manifest it names. */
  resolve(reference: string): Promise<Descriptor>;
  /** Points `reference` (a tag) at a manifest already pushed. */
  tag(desc: Descriptor, reference: string): Promise<void>;
  /** Pushes manifest bytes and tags them in one go (one PUT on a registry). */
  pushReference(desc: Descriptor, content: Buffer, reference: string): Promise<void>;
  /** All tags, sorted. */
  tags(): Promise<string[]>;
  /** Manifests whose `subject` is `subject`, optionally only of one artifact type. */
  referrers(subject: Descriptor, artifactType?: string): Promise<Descriptor[]>;
}

/**
 * A target that can take a blob from another repository of the same registry without uploading
 * it (a cross-repository mount). Two targets can mount between each other when their
 * `mountDomain`s are equal and their repositories differ.
 */
export interface BlobMounter {
  /** Which registry (and how it is reached): mounts only work inside one domain. */
  readonly mountDomain: string;
  readonly repository: string;
  /** True when the registry mounted it, false when it must be uploaded. */
  mount(desc: Descriptor, fromRepository: string): Promise<boolean>;
}

export function isBlobMounter(t: Target): t is Target & BlobMounter {
  const m = t as Partial<BlobMounter>;
  return typeof m.mountDomain === 'string' && typeof m.repository === 'string' && typeof m.mount === 'function';
}

/** A target that can find and drop its own missing or corrupted content under a root (a local store). */
export interface GraphRepairer {
  /** Removes what is corrupted under `root` and returns the descriptors to fetch again. */
  repairGraph(root: Descriptor): Promise<Descriptor[]>;
}

export function isGraphRepairer(t: Target): t is Target & GraphRepairer {
  return typeof (t as Partial<GraphRepairer>).repairGraph === 'function';
}
