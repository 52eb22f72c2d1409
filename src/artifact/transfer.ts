import { rmdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { makeDirs } from '../host/make-dirs.js';
import type { OciLayout } from '../registry/layout.js';
import type { CopyEvent } from '../registry/copy.js';
import type { ReferrerNode } from '../registry/listing.js';
import type { ArtifactSummary } from '../registry/summary.js';
import type { Descriptor, ImageManifest, Manifest, ProgressCallback, Target } from '../registry/target.js';
import type { WrittenFiles } from '../registry/write-files.js';
import { SpecError } from './errors.js';
import { classify, specLayerOf, type ArtifactKind } from './pack.js';
import { MAX_SPEC_BYTES } from './spec.js';
import { PULL_STAGING_PREFIX, storeFor } from './store.js';
import { locate, type RegistryFlags } from './targets.js';

export interface TransferOptions extends RegistryFlags {
  concurrency?: number;
  onProgress?: ProgressCallback;
  /** What became of each blob and manifest: already there, started, copied (for progress bars). */
  onEvent?: (e: CopyEvent) => void;
  /** Abandons the registry requests once aborted (the daemon's caller gave up). */
  signal?: AbortSignal;
}

async function registry() {
  return import('../registry/index.js');
}

export interface PullResult {
  descriptor: Descriptor;
  manifest: Manifest;
  /** Files written under the output directory, relative to it. */
  files: string[];
  /** Layers `-o` did not write, and why. */
  skipped: Array<{ digest: string; reason: string }>;
  /** True when the store already had it and nothing was fetched. */
  fromStore: boolean;
  summary: ArtifactSummary;
}

/**
 * Resolves `ref`, copies its graph into the node's store (skipping what is there; a digest already
 * in the store is not fetched again), and optionally writes its files into `outDir`.
 */
export async function pullToStore(ref: string, opts: TransferOptions & { outDir?: string; offline?: 'fallback' | 'never' } = {}): Promise<PullResult & { store: Target }> {
  const none: WrittenFiles = { files: [], untitled: [] };
  const { value, ...r } = await pullThroughStore(ref, opts, (store, manifest) => (opts.outDir ? writeFilesInto(store, manifest, opts.outDir, ref) : Promise.resolve(none)));
  const { artifactSummary } = await registry();
  const summary = artifactSummary(ref, r.descriptor, r.manifest);
  const written = new Set(value.files.map((f) => f.descriptor.digest + f.title));
  summary.files = summary.files.filter((f) => written.has(f.digest + f.title));
  const image = classify(r.manifest as ImageManifest) === 'image';
  const skipped = value.untitled.map((d) => ({ digest: d.digest, reason: image ? 'a layer of an image: pull -o writes files of artifacts and does not unpack images' : 'no title (org.opencontainers.image.title), so no file name' }));
  return { ...r, files: value.files.map((f) => f.title), skipped, summary };
}

/** `pull -o DIR`: DIR is made as needed, and what was made is removed again when the pull is refused. */
async function writeFilesInto(store: Target, manifest: Manifest, dir: string, ref: string): Promise<WrittenFiles> {
  const { writeArtifactFiles } = await registry();
  const out = resolve(dir);
  if (!('layers' in manifest)) throw new SpecError(ref, 'is an index, not an artifact with files');
  const made = makeDirs(out);
  try {
    return await writeArtifactFiles(store, manifest, out, ref, { stagingPrefix: PULL_STAGING_PREFIX });
  } catch (e) {
    if (made) removeMadeDirs(out, made);
    throw e;
  }
}

/** Undoes makeDirs after a refusal: the directories it made, innermost first, while they are empty. */
function removeMadeDirs(out: string, made: string): void {
  for (let p = out; ; p = dirname(p)) {
    try {
      rmdirSync(p);
    } catch {
      return;
    }
    if (p === made || dirname(p) === p) return;
  }
}

/**
 * Brings `ref` into the node's store, then runs `read` over the store's copy (a local layout is
 * read in place); see pullThrough for the repair of a corrupted store.
 */
async function pullThroughStore<T>(ref: string, opts: TransferOptions & { offline?: 'fallback' | 'never' }, read: (store: Target, manifest: Manifest) => Promise<T>): Promise<{ descriptor: Descriptor; manifest: Manifest; fromStore: boolean; store: Target; value: T }> {
  const { pullThrough } = await registry();
  const located = await locate(ref, opts);
  if (!located.reference) throw new SpecError(ref, 'name a tag or digest to pull');
  const store = located.repository ? await storeFor(located.repository) : located.target;
  const r = await pullThrough(located.target, located.reference, store, read, { concurrency: opts.concurrency, onProgress: opts.onProgress, onEvent: opts.onEvent, offline: opts.offline });
  return { descriptor: r.descriptor, manifest: r.manifest, fromStore: r.fromCache, store, value: r.value };
}

export interface ListRow {
  tag: string;
  digest: string;
  artifactType?: string;
  kind: ArtifactKind;
  size: number;
  created?: string;
}

export interface ListOptions extends TransferOptions {
  artifactType?: string;
  /** Only the tags after this one (in sorted order), as a registry's `?last=` does. */
  last?: string;
  /** Hides the `sha256-<hex>` tags the referrers fallback makes. */
  excludeDigestTags?: boolean;
}

/** A referrers fallback tag (`sha256-<hex>`, or sha512's), with the suffix some tools add. */
const DIGEST_TAG = /^(sha256-[0-9a-f]{64}|sha512-[0-9a-f]{128})(\.[\w.-]+)?$/;

/** `list REPO`: one row per tag, with what each tag holds. */
export async function listArtifacts(repo: string, opts: ListOptions = {}): Promise<ListRow[]> {
  const { listTagged } = await registry();
  if (!opts.ociLayout && isRegistryOnly(repo)) throw new SpecError(repo, 'names a registry, not a repository: there is no catalog command (list REGISTRY/REPOSITORY)');
  const located = await locate(repo, opts, { repositoryOnly: true });
  if (opts.ociLayout && !(await (located.target as OciLayout).present())) throw new SpecError(repo, 'no OCI layout there (no oci-layout file)');
  const filter = (tag: string) => (opts.last === undefined || tag > opts.last) && !(opts.excludeDigestTags && DIGEST_TAG.test(tag));
  const rows: ListRow[] = (await listTagged(located.target, { concurrency: opts.concurrency, filter })).map((t) => ({
    tag: t.tag,
    digest: t.descriptor.digest,
    ...(t.artifactType ? { artifactType: t.artifactType } : {}),
    kind: classify(t.manifest as ImageManifest & { mediaType?: string }),
    size: t.size,
    ...(t.created ? { created: t.created } : {}),
  }));
  return opts.artifactType ? rows.filter((r) => r.artifactType === opts.artifactType) : rows;
}

/** `localhost:5000` or `registry.example.org` alone: a host (as docker tells them), with no repository. */
function isRegistryOnly(input: string): boolean {
  return !input.includes('/') && (input.includes('.') || input.includes(':') || input === 'localhost');
}

export interface Referrer {
  digest: string;
  artifactType?: string;
  kind: ArtifactKind;
  created?: string;
  annotations: Record<string, string>;
  size: number;
  /** Its own referrers, as deep as asked. */
  referrers: Referrer[];
}

/**
 * `discover SUBJECT`: its referrers, newest first, and theirs down to `depth` levels (all when
 * undefined); a failing referrers call is an error, never an empty list.
 */
export async function discoverReferrers(subjectRef: string, opts: TransferOptions & { artifactType?: string; depth?: number } = {}): Promise<{ subject: Descriptor; referrers: Referrer[] }> {
  const { referrerTree } = await registry();
  const located = await locate(subjectRef, opts);
  if (!located.reference) throw new SpecError(subjectRef, 'name the subject by tag or digest');
  const subject = await located.target.resolve(located.reference);
  const tree = await referrerTree(located.target, subject, { artifactType: opts.artifactType, depth: opts.depth });
  const named = (nodes: ReferrerNode[]): Referrer[] =>
    nodes.map((r) => ({
      digest: r.descriptor.digest,
      ...(r.artifactType ? { artifactType: r.artifactType } : {}),
      kind: classify({ artifactType: r.artifactType }),
      ...(r.created ? { created: r.created } : {}),
      annotations: r.annotations,
      size: r.descriptor.size,
      referrers: named(r.referrers),
    }));
  return { subject, referrers: named(tree) };
}

/** The spec a reference names, pulled through the store; a blob that does not match its digest is an error. */
export async function fetchSpecFromRegistry(ref: string, opts: TransferOptions = {}): Promise<{ text: string; digest: string }> {
  const { fetchBytes } = await registry();
  const pulled = await pullThroughStore(ref, opts, (store, manifest) => {
    if (!('layers' in manifest)) return Promise.resolve(undefined);
    return fetchBytes(store, specLayerOf(manifest as ImageManifest, ref), MAX_SPEC_BYTES);
  });
  if (!pulled.value) throw new SpecError(ref, `is an image index, not a compat artifact (${pulled.descriptor.digest})`);
  return { text: pulled.value.toString('utf8'), digest: pulled.descriptor.digest };
}
