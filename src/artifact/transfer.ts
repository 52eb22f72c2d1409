import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { probeFile } from '../host/elf.js';
import { fileTypeName } from '../host/file-reader.js';
import type { Descriptor, ImageManifest, Manifest, ProgressCallback, Target } from '../registry/target.js';
import { SpecError } from './errors.js';
import type { RegistryFlags } from './fetch-spec.js';
import { classify, describe as describeBytes, packSpec, specLayerOf, type ArtifactKind } from './pack.js';
import { isLegacy } from './legacy.js';
import { type CompatSpec, MAX_SPEC_BYTES, MEDIA_TYPES, parseSpec, readInputFile, sniffInput } from './spec.js';
import { brokenInStore, PUSH_TEMP_PREFIX, restoreGraph } from './store.js';
import { locate, type Located, storeFor } from './targets.js';
import { writeArtifactFiles } from './unpack.js';

const TITLE = 'org.opencontainers.image.title';
const CREATED = 'org.opencontainers.image.created';
const UNPACK = 'io.deis.oras.content.unpack';
const ORAS_DEFAULT_TYPE = 'application/vnd.oci.image.layer.v1.tar';
const TAR_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const UNKNOWN_ARTIFACT = 'application/vnd.unknown.artifact.v1';

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

async function pushBlobs(target: Target, blobs: Array<{ descriptor: Descriptor; content: Buffer | string }>, opts: TransferOptions): Promise<void> {
  const { pushFile } = await registry();
  for (const b of blobs) {
    if (await target.exists(b.descriptor)) continue;
    if (typeof b.content === 'string') await pushFile(target, b.content, b.descriptor.mediaType, b.descriptor, { onProgress: opts.onProgress });
    else await target.push(b.descriptor, b.content, { onProgress: opts.onProgress });
  }
}

async function pushManifestBytes(located: Located, descriptor: Descriptor, bytes: Buffer): Promise<void> {
  const ref = located.reference;
  if (ref && !ref.startsWith('sha256:')) await located.target.pushReference(descriptor, bytes, ref);
  else await located.target.push(descriptor, bytes);
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
      const packed = packSpec(spec);
      await pushBlobs(located.target, packed.blobs, opts);
      await pushManifestBytes(located, packed.descriptor, packed.manifestBytes);
      return { reference: ref, descriptor: packed.descriptor, kind: 'compat' };
    }
  }
  return pushOras(located, ref, files, opts);
}

async function pushLegacy(located: Located, file: string, opts: TransferOptions): Promise<PushResult> {
  const { buildManifest } = await registry();
  const bytes = readInputFile(file);
  parseSpec(bytes.toString('utf8'), file);
  const layer = describeBytes(MEDIA_TYPES.spec, bytes, { annotations: { [TITLE]: basename(file) } });
  const { bytes: mbytes, descriptor } = buildManifest({ artifactType: MEDIA_TYPES.artifact, layers: [layer], annotations: { [CREATED]: new Date().toISOString(), [TITLE]: basename(file) } });
  const { EMPTY_DESCRIPTOR, EMPTY_JSON } = await registry();
  await pushBlobs(located.target, [{ descriptor: { ...EMPTY_DESCRIPTOR }, content: EMPTY_JSON }, { descriptor: layer, content: bytes }], opts);
  await pushManifestBytes(located, descriptor, mbytes);
  return { reference: located.label, descriptor, kind: 'compat' };
}

async function pushOras(located: Located, ref: string, files: string[], opts: TransferOptions & { artifactType?: string; annotations?: Record<string, string> }): Promise<PushResult> {
  const { buildManifest, describeFile, EMPTY_DESCRIPTOR, EMPTY_JSON } = await registry();
  // The pid in the name lets `compat store verify --repair` tell a push in flight from one killed.
  const work = mkdtempSync(join(tmpdir(), `${PUSH_TEMP_PREFIX}${process.pid}-`));
  try {
    const layers: Descriptor[] = [];
    const blobs: Array<{ descriptor: Descriptor; content: Buffer | string }> = [{ descriptor: { ...EMPTY_DESCRIPTOR }, content: EMPTY_JSON }];
    for (const f of files) {
      const title = basename(resolve(f));
      let path = f;
      let mediaType = ORAS_DEFAULT_TYPE;
      const annotations: Record<string, string> = { [TITLE]: title };
      if (statSync(f).isDirectory()) {
        const tar = await import('tar');
        path = join(work, `${title}.tar.gz`);
        await tar.create({ gzip: true, file: path, cwd: resolve(f, '..'), portable: true, noMtime: true }, [title]);
        mediaType = TAR_GZIP;
        annotations[UNPACK] = 'true';
      }
      const d = await describeFile(path);
      const desc: Descriptor = { mediaType, digest: d.digest, size: d.size, annotations };
      layers.push(desc);
      blobs.push({ descriptor: desc, content: path });
    }
    const { bytes, descriptor } = buildManifest({ artifactType: opts.artifactType ?? UNKNOWN_ARTIFACT, layers, annotations: { [CREATED]: new Date().toISOString(), ...opts.annotations } });
    await pushBlobs(located.target, blobs, opts);
    await pushManifestBytes(located, descriptor, bytes);
    return { reference: ref, descriptor, kind: 'other' };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
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
  const { value, ...r } = await pullThroughStore(ref, opts, (store, manifest) => (opts.outDir ? writeArtifactFiles(store, manifest, opts.outDir, ref) : Promise.resolve([])));
  return { ...r, files: value };
}

interface Resolved {
  descriptor: Descriptor;
  fromStore: boolean;
  /** The registry did not answer: the store is all there is. */
  offline: boolean;
}

/**
 * Brings `ref` into the store, then runs `read` over the store's copy. A blob of the store that is
 * missing or fails its digest there is fetched again when the registry answers (cacache verifies
 * on read; the store is only a cache of the registry), and `read` runs once more.
 */
async function pullThroughStore<T>(ref: string, opts: TransferOptions & { offline?: 'fallback' | 'never' }, read: (store: Target, manifest: Manifest) => Promise<T>): Promise<{ descriptor: Descriptor; manifest: Manifest; fromStore: boolean; store: Target; value: T }> {
  const { fetchManifest, OciLayout } = await registry();
  const located = await locate(ref, opts);
  if (!located.reference) throw new SpecError(ref, 'name a tag or digest to pull');
  const store = located.repository ? await storeFor(located.repository) : located.target;
  const found = await resolveIntoStore(located, store, opts);
  const readAll = async () => {
    const { manifest } = await fetchManifest(store, found.descriptor.digest);
    return { manifest, value: await read(store, manifest) };
  };
  try {
    return { descriptor: found.descriptor, fromStore: found.fromStore, store, ...(await readAll()) };
  } catch (e) {
    if (store === located.target || !(store instanceof OciLayout) || !brokenInStore(e) || found.offline) throw e;
    await restoreGraph(located.target, store, found.descriptor, e as Error, { concurrency: opts.concurrency });
    return { descriptor: found.descriptor, fromStore: false, store, ...(await readAll()) };
  }
}

async function resolveIntoStore(located: Located, store: Target, opts: TransferOptions & { offline?: 'fallback' | 'never' }): Promise<Resolved> {
  const { copyGraph } = await registry();
  const reference = located.reference!;
  if (reference.startsWith('sha256:') && store !== located.target) {
    const descriptor = await store.resolve(reference).catch(() => undefined);
    if (descriptor) return { descriptor, fromStore: true, offline: false };
  }
  let descriptor: Descriptor;
  try {
    descriptor = await located.target.resolve(reference);
  } catch (e) {
    // Unreachable registry: a reference already pulled still answers from the store.
    const code = (e as { code?: string }).code;
    if (store === located.target || opts.offline === 'never' || (code !== 'NETWORK' && code !== 'TIMEOUT')) throw e;
    descriptor = await store.resolve(reference).catch(() => {
      throw e;
    });
    return { descriptor, fromStore: true, offline: true };
  }
  if (store !== located.target) {
    const tag = reference.startsWith('sha256:') ? undefined : reference;
    await copyGraph(located.target, descriptor, store, tag, { concurrency: opts.concurrency, onProgress: opts.onProgress });
  }
  return { descriptor, fromStore: false, offline: false };
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
  const { fetchManifest } = await registry();
  const located = await locate(repo, opts, { repositoryOnly: true });
  const tags = await located.target.tags();
  const rows: ListRow[] = [];
  const limit = Math.max(1, opts.concurrency ?? 8);
  let next = 0;
  const worker = async () => {
    while (next < tags.length) {
      const tag = tags[next++]!;
      const { descriptor, manifest } = await fetchManifest(located.target, tag);
      const m = manifest as ImageManifest;
      const size = descriptor.size + (m.config?.size ?? 0) + (m.layers ?? []).reduce((a, l) => a + l.size, 0);
      rows.push({ tag, digest: descriptor.digest, ...(manifest.artifactType || m.config ? { artifactType: manifest.artifactType ?? m.config?.mediaType } : {}), kind: classify(manifest as ImageManifest & { mediaType?: string }), size, ...(manifest.annotations?.[CREATED] ? { created: manifest.annotations[CREATED] } : {}) });
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tags.length) }, worker));
  const filtered = opts.artifactType ? rows.filter((r) => r.artifactType === opts.artifactType) : rows;
  return filtered.sort((a, b) => a.tag.localeCompare(b.tag));
}

/** `attach SUBJECT SPEC`: the spec as a compat artifact whose `subject` is the image. */
export async function attachSpec(subjectRef: string, specFile: string, opts: TransferOptions = {}): Promise<{ subject: Descriptor; descriptor: Descriptor }> {
  const spec = parseSpec(readInputFile(specFile).toString('utf8'), specFile);
  const located = await locate(subjectRef, opts);
  if (!located.reference) throw new SpecError(subjectRef, 'name the subject by tag or digest');
  const subject = await located.target.resolve(located.reference);
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
  const { fetchManifest } = await registry();
  const located = await locate(subjectRef, opts);
  if (!located.reference) throw new SpecError(subjectRef, 'name the subject by tag or digest');
  const subject = await located.target.resolve(located.reference);
  const list = await located.target.referrers(subject, opts.artifactType);
  const out: Referrer[] = [];
  for (const d of list) {
    let annotations = d.annotations ?? {};
    let artifactType = d.artifactType;
    if (!annotations[CREATED] || !artifactType) {
      const { manifest } = await fetchManifest(located.target, d.digest);
      annotations = { ...manifest.annotations, ...annotations };
      artifactType ??= manifest.artifactType ?? (manifest as ImageManifest).config?.mediaType;
    }
    out.push({ digest: d.digest, ...(artifactType ? { artifactType } : {}), kind: classify({ artifactType }), ...(annotations[CREATED] ? { created: annotations[CREATED] } : {}), annotations, size: d.size });
  }
  out.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
  return { subject, referrers: out };
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
