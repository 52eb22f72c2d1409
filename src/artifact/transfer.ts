import { rmdirSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { probeFile } from '../host/elf.js';
import { fileTypeName } from '../host/file-reader.js';
import { makeDirs } from '../host/make-dirs.js';
import type { Descriptor, ImageManifest, Manifest, ProgressCallback, Target } from '../registry/target.js';
import { SpecError } from './errors.js';
import { isLegacy } from './legacy.js';
import { classify, describe as describeBytes, packSpec, specLayerOf, type ArtifactKind } from './pack.js';
import { type CompatSpec, MAX_SPEC_BYTES, MEDIA_TYPES, parseSpec, readInputFile, sniffInput } from './spec.js';
import { PULL_STAGING_PREFIX, PUSH_TEMP_PREFIX, storeFor } from './store.js';
import { locate, type Located, type RegistryFlags } from './targets.js';

const TITLE = 'org.opencontainers.image.title';
const CREATED = 'org.opencontainers.image.created';

export interface TransferOptions extends RegistryFlags {
  concurrency?: number;
  onProgress?: ProgressCallback;
  /** Abandons the registry requests once aborted (the daemon's caller gave up). */
  signal?: AbortSignal;
}

export interface PushResult {
  reference: string;
  descriptor: Descriptor;
  kind: ArtifactKind;
}

async function registry() {
  return import('../registry/index.js');
}

/**
 * Is this file a compat spec (or the seed's legacy format)? Then it is pushed as a compat artifact.
 * Decided by its first bytes: only a JSON object within the spec cap is read whole.
 */
function asSpec(path: string): CompatSpec | 'legacy' | undefined {
  const { kind, size } = sniffInput(path);
  if (kind !== 'json' || size > MAX_SPEC_BYTES) return undefined;
  const text = readInputFile(path).toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (isLegacy(doc)) return 'legacy';
  if (doc && typeof doc === 'object' && 'schemaVersion' in doc) return parseSpec(text, path);
  return undefined;
}

/** Only the header is read: the file may be a large binary. */
function isElf(path: string): boolean {
  return probeFile(path).kind === 'elf';
}

/**
 * `push REF FILE…`: a spec (or legacy file) goes up as a compat artifact; an ELF file is described
 * on the fly; anything else ORAS-style, one layer per file, directories as tar+gzip.
 */
export async function pushFiles(ref: string, files: string[], opts: TransferOptions & { artifactType?: string; annotations?: Record<string, string> } = {}): Promise<PushResult> {
  if (files.length === 0) throw new SpecError(ref, 'nothing to push: name at least one file');
  for (const f of files) assertPushable(f);
  const located = await locate(ref, opts);
  if (!located.reference && !opts.ociLayout) throw new SpecError(ref, 'name a tag to push to (REPO:TAG)');

  if (files.length === 1 && !statSync(files[0]!).isDirectory()) {
    const spec = isElf(files[0]!) ? (await import('./gen.js')).generateSpec([files[0]!]) : asSpec(files[0]!);
    if (spec === 'legacy') return pushLegacy(located, files[0]!, opts);
    if (spec) {
      const { pushBlobs, pushManifestBytes } = await registry();
      const packed = packSpec(spec);
      await pushBlobs(located.target, packed.blobs, opts);
      await pushManifestBytes(located.target, located.reference, packed.descriptor, packed.manifestBytes);
      return { reference: ref, descriptor: packed.descriptor, kind: 'compat' };
    }
  }
  return pushOras(located, ref, files, opts);
}

async function pushLegacy(located: Located, file: string, opts: TransferOptions): Promise<PushResult> {
  const { buildManifest, EMPTY_DESCRIPTOR, EMPTY_JSON, pushBlobs, pushManifestBytes } = await registry();
  const bytes = readInputFile(file);
  parseSpec(bytes.toString('utf8'), file);
  const layer = describeBytes(MEDIA_TYPES.spec, bytes, { annotations: { [TITLE]: basename(file) } });
  const { bytes: mbytes, descriptor } = buildManifest({ artifactType: MEDIA_TYPES.artifact, layers: [layer], annotations: { [CREATED]: new Date().toISOString(), [TITLE]: basename(file) } });
  await pushBlobs(located.target, [{ descriptor: { ...EMPTY_DESCRIPTOR }, content: EMPTY_JSON }, { descriptor: layer, content: bytes }], opts);
  await pushManifestBytes(located.target, located.reference, descriptor, mbytes);
  return { reference: located.label, descriptor, kind: 'compat' };
}

async function pushOras(located: Located, ref: string, files: string[], opts: TransferOptions & { artifactType?: string; annotations?: Record<string, string> }): Promise<PushResult> {
  const { pushFiles: pushFileLayers } = await registry();
  const layers = files.map((f) => ({ path: f, title: basename(resolve(f)) }));
  // The pid in the name lets `compat store verify --repair` tell a push in flight from one killed.
  const pushed = await pushFileLayers(located.target, located.reference, layers, { artifactType: opts.artifactType, annotations: opts.annotations, workPrefix: `${PUSH_TEMP_PREFIX}${process.pid}-`, onProgress: opts.onProgress });
  return { reference: ref, descriptor: pushed.descriptor, kind: 'other' };
}

/** A regular file or a directory; anything else (a FIFO would block, a device never end) is refused up front. */
function assertPushable(f: string): void {
  let st;
  try {
    st = statSync(f);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SpecError(f, code === 'ENOENT' ? 'no such file or directory' : (e as Error).message);
  }
  if (!st.isFile() && !st.isDirectory()) throw new SpecError(f, `is a ${fileTypeName(st)}, not a regular file`);
}

export interface PullResult {
  descriptor: Descriptor;
  manifest: Manifest;
  /** Files written under the output directory, relative to it. */
  files: string[];
  /** True when the store already had it and nothing was fetched. */
  fromStore: boolean;
}

/**
 * Resolves `ref`, copies its graph into the node's store (skipping what is there; a digest already
 * in the store is not fetched again), and optionally writes its files into `outDir`.
 */
export async function pullToStore(ref: string, opts: TransferOptions & { outDir?: string; offline?: 'fallback' | 'never' } = {}): Promise<PullResult & { store: Target }> {
  const { value, ...r } = await pullThroughStore(ref, opts, (store, manifest) => (opts.outDir ? writeFilesInto(store, manifest, opts.outDir, ref) : Promise.resolve([])));
  return { ...r, files: value };
}

/** `pull -o DIR`: DIR is made as needed, and what was made is removed again when the pull is refused. */
async function writeFilesInto(store: Target, manifest: Manifest, dir: string, ref: string): Promise<string[]> {
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
  const r = await pullThrough(located.target, located.reference, store, read, { concurrency: opts.concurrency, onProgress: opts.onProgress, offline: opts.offline });
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

/** `list REPO`: one row per tag, with what each tag holds. */
export async function listArtifacts(repo: string, opts: TransferOptions & { artifactType?: string } = {}): Promise<ListRow[]> {
  const { listTagged } = await registry();
  const located = await locate(repo, opts, { repositoryOnly: true });
  const rows: ListRow[] = (await listTagged(located.target, { concurrency: opts.concurrency })).map((t) => ({
    tag: t.tag,
    digest: t.descriptor.digest,
    ...(t.artifactType ? { artifactType: t.artifactType } : {}),
    kind: classify(t.manifest as ImageManifest & { mediaType?: string }),
    size: t.size,
    ...(t.created ? { created: t.created } : {}),
  }));
  return opts.artifactType ? rows.filter((r) => r.artifactType === opts.artifactType) : rows;
}

/** `attach SUBJECT SPEC`: the spec as a compat artifact whose `subject` is the image. */
export async function attachSpec(subjectRef: string, specFile: string, opts: TransferOptions = {}): Promise<{ subject: Descriptor; descriptor: Descriptor }> {
  const spec = parseSpec(readInputFile(specFile).toString('utf8'), specFile);
  const located = await locate(subjectRef, opts);
  if (!located.reference) throw new SpecError(subjectRef, 'name the subject by tag or digest');
  const subject = await located.target.resolve(located.reference);
  const { pushBlobs } = await registry();
  const packed = packSpec(spec, { subject });
  await pushBlobs(located.target, packed.blobs, opts);
  await located.target.push(packed.descriptor, packed.manifestBytes);
  return { subject, descriptor: packed.descriptor };
}

export interface Referrer {
  digest: string;
  artifactType?: string;
  kind: ArtifactKind;
  created?: string;
  annotations: Record<string, string>;
  size: number;
}

/** `discover SUBJECT`: its referrers, newest first; a failing referrers call is an error, never an empty list. */
export async function discoverReferrers(subjectRef: string, opts: TransferOptions & { artifactType?: string } = {}): Promise<{ subject: Descriptor; referrers: Referrer[] }> {
  const { referrersOf } = await registry();
  const located = await locate(subjectRef, opts);
  if (!located.reference) throw new SpecError(subjectRef, 'name the subject by tag or digest');
  const subject = await located.target.resolve(located.reference);
  const found = await referrersOf(located.target, subject, { artifactType: opts.artifactType });
  const referrers = found.map((r) => ({
    digest: r.descriptor.digest,
    ...(r.artifactType ? { artifactType: r.artifactType } : {}),
    kind: classify({ artifactType: r.artifactType }),
    ...(r.created ? { created: r.created } : {}),
    annotations: r.annotations,
    size: r.descriptor.size,
  }));
  return { subject, referrers };
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
