import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ReadEntry } from 'tar';
import { fetchBytes, fetchManifest } from './content.js';
import { RegistryError } from './errors.js';
import { closeFile, LayerTree, type TreeLimits } from './layer-tree.js';
import { IMAGE_MANIFEST_TYPES, MediaType } from './media-types.js';
import { formatPlatform, hostPlatform, type PlatformSpec, selectPlatform } from './platform.js';
import { closeQuietly, EntryError } from './staged-tree.js';
import type { Descriptor, ImageIndex, ImageManifest, Target } from './target.js';

/** The parts of an image's configuration (image-spec config.md) a reader of its root cares about. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  config?: { Env?: string[]; Entrypoint?: string[]; Cmd?: string[]; WorkingDir?: string };
  rootfs?: { type?: string; diff_ids?: string[] };
}

export interface ImageRoot {
  /** The unpacked root file system (a private temporary directory). */
  root: string;
  /** The image manifest that was unpacked (the platform's, when the reference named an index). */
  descriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  /** The digest the reference resolved to (an index's, or the manifest's own). */
  resolved: string;
}

export interface ImageRootOptions extends Partial<TreeLimits> {
  /** Which manifest of an index (default: this machine's platform). */
  platform?: PlatformSpec;
  /**
   * A layer may decompress to at most this many times its compressed size (past a floor of
   * `ratioFloor` bytes): a decompression bomb stops early instead of filling the disk.
   */
  maxRatio?: number;
  ratioFloor?: number;
  /** Where the temporary root is made (default: the system's temporary directory). */
  tmpDir?: string;
  /** Names the image in refusals (default: the target and reference). */
  label?: string;
}

export const DEFAULT_IMAGE_LIMITS = { maxBytes: 8 * 1024 ** 3, maxEntries: 2_000_000, maxRatio: 200, ratioFloor: 64 * 1024 ** 2 } as const;

const LAYER_TYPES = new Set<string>([MediaType.OciLayer, MediaType.OciLayerGzip, MediaType.OciLayerZstd, MediaType.DockerLayerGzip, 'application/vnd.docker.image.rootfs.diff.tar', 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip']);

/**
 * Pulls an image (index → platform manifest → config → layers) and applies its layers in order
 * into a fresh temporary directory; `use` reads the root, which is removed afterwards whatever
 * happens: an error, a refusal, SIGINT or SIGTERM (after which the signal is raised again).
 */
export async function withImageRoot<T>(target: Target, reference: string, opts: ImageRootOptions, use: (image: ImageRoot) => Promise<T>): Promise<T> {
  const root = mkdtempSync(join(opts.tmpDir ?? tmpdir(), 'image-root-'));
  const remove = () => rmSync(root, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals) => {
    remove();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await use(await unpackImage(target, reference, root, opts));
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    remove();
  }
}

/** Unpacks the image into `root` (an empty directory the caller owns and removes). */
export async function unpackImage(target: Target, reference: string, root: string, opts: ImageRootOptions = {}): Promise<ImageRoot> {
  const label = opts.label ?? `${target.name}:${reference}`;
  const { descriptor, manifest, resolved } = await imageManifest(target, reference, opts.platform ?? hostPlatform(), label);
  const config = parseConfig(await fetchBytes(target, manifest.config), label);
  const tree = new LayerTree(root, { maxBytes: opts.maxBytes ?? DEFAULT_IMAGE_LIMITS.maxBytes, maxEntries: opts.maxEntries ?? DEFAULT_IMAGE_LIMITS.maxEntries });
  const diffIds = config.rootfs?.diff_ids;
  for (const [i, layer] of manifest.layers.entries()) {
    if (!LAYER_TYPES.has(layer.mediaType)) throw new RegistryError('UNSUPPORTED', `${label}: layer ${layer.digest} has media type ${layer.mediaType}, not an image layer`);
    tree.nextLayer();
    const bound = Math.max(opts.ratioFloor ?? DEFAULT_IMAGE_LIMITS.ratioFloor, layer.size * (opts.maxRatio ?? DEFAULT_IMAGE_LIMITS.maxRatio));
    try {
      await applyLayer(tree, await target.fetch(layer), { bound, diffId: diffIds?.[i], layer: layer.digest });
    } catch (e) {
      if (e instanceof EntryError) throw new RegistryError('REFUSED', `${label}: layer ${layer.digest}: ${e.message}`);
      if (e instanceof RegistryError) throw e;
      throw new RegistryError('REFUSED', `${label}: layer ${layer.digest}: ${(e as Error).message}`);
    }
  }
  return { root, descriptor, manifest, config, resolved };
}

/** The image manifest a reference names: itself, or the platform's entry of an index. */
async function imageManifest(target: Target, reference: string, want: PlatformSpec, label: string): Promise<{ descriptor: Descriptor; manifest: ImageManifest; resolved: string }> {
  const top = await fetchManifest(target, reference);
  if (Array.isArray((top.manifest as ImageIndex).manifests)) {
    const child = selectPlatform(top.manifest as ImageIndex, want);
    if (!child) throw new RegistryError('NOT_FOUND', `${label}: the index lists no ${formatPlatform(want)} image`);
    const inner = await fetchManifest(target, child.digest);
    return { descriptor: inner.descriptor, manifest: asImage(inner.manifest, inner.descriptor, label), resolved: top.descriptor.digest };
  }
  return { descriptor: top.descriptor, manifest: asImage(top.manifest, top.descriptor, label), resolved: top.descriptor.digest };
}

function asImage(m: unknown, d: Descriptor, label: string): ImageManifest {
  const im = m as ImageManifest;
  if (!IMAGE_MANIFEST_TYPES.includes(d.mediaType) || !Array.isArray(im.layers) || !im.config) throw new RegistryError('UNSUPPORTED', `${label}: ${d.digest} is not an image manifest (${d.mediaType})`);
  if (im.artifactType || (im.config.mediaType !== MediaType.OciConfig && im.config.mediaType !== MediaType.DockerConfig)) {
    throw new RegistryError('UNSUPPORTED', `${label}: ${d.digest} is an artifact (${im.artifactType ?? im.config.mediaType}), not a container image`);
  }
  return im;
}

function parseConfig(bytes: Buffer, label: string): ImageConfig {
  try {
    const c = JSON.parse(bytes.toString('utf8')) as ImageConfig;
    if (c === null || typeof c !== 'object') throw new Error('not a JSON object');
    return c;
  } catch (e) {
    throw new RegistryError('INVALID_MANIFEST', `${label}: image config: ${(e as Error).message}`);
  }
}

interface LayerOptions {
  /** Decompressed bytes allowed. */
  bound: number;
  /** The config's digest of the uncompressed tar, checked at its end. */
  diffId?: string;
  layer: string;
}

/** One layer's stream: decompressed (told by its first bytes), bounded, hashed, parsed and applied. */
async function applyLayer(tree: LayerTree, input: Readable, opts: LayerOptions): Promise<void> {
  const head = await peek(input, 4);
  const decompress = head[0] === 0x1f && head[1] === 0x8b ? createGunzip() : head.readUInt32LE(0) === 0xfd2fb528 ? await zstdStream() : undefined;
  const guard = new Guard(opts.bound, opts.diffId);
  const { Parser } = await import('tar');
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const open: { fd?: number } = {};
    const streams = [input, ...(decompress ? [decompress] : []), guard];
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      closeQuietly(open.fd);
      open.fd = undefined;
      for (const s of streams) s.destroy();
      reject(e);
    };
    const parser = new Parser({ strict: true, onwarn: (code, message, data) => fail(tarRefusal(`${code}: ${String(message)}`, data as Located)) });
    parser.on('error', (e: Error & Located) => fail(tarRefusal(e.message, e)));
    parser.on('ignoredEntry', (entry: ReadEntry) => fail(new EntryError(entry.path, `a ${entry.type} entry, which is never written`)));
    parser.on('entry', (entry: ReadEntry) => {
      if (failed) return void entry.resume();
      try {
        writeEntry(tree, entry, open, () => failed, fail);
      } catch (e) {
        fail(e);
      }
    });
    parser.on('end', () => {
      if (failed) return;
      const bad = guard.mismatch();
      if (bad) fail(new Error(bad));
      else resolve();
    });
    for (const s of streams) s.on('error', fail);
    let last: Readable = input;
    for (const s of streams.slice(1)) last = last.pipe(s as Transform);
    last.pipe(parser);
  });
}

function writeEntry(tree: LayerTree, entry: ReadEntry, open: { fd?: number }, failed: () => boolean, fail: (e: unknown) => void): void {
  const fd = tree.apply(entry);
  if (fd === undefined) return void entry.resume();
  open.fd = fd;
  entry.on('data', (chunk: Buffer) => {
    // After a failure the descriptor is closed and its number may be reused: write nothing more.
    if (failed()) return;
    try {
      tree.wrote(chunk.length, entry.path);
      for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
    } catch (e) {
      fail(e instanceof EntryError ? e : new EntryError(entry.path, (e as Error).message));
    }
  });
  entry.on('end', () => {
    if (failed()) return;
    try {
      open.fd = undefined;
      closeFile(fd, entry);
    } catch (e) {
      fail(new EntryError(entry.path, (e as Error).message));
    }
  });
}

interface Located {
  header?: { path?: string };
  entry?: { path?: string };
}

function tarRefusal(message: string, data: Located | undefined): Error {
  const where = data?.header?.path ?? data?.entry?.path;
  return where ? new EntryError(where, message.split('\n')[0]!) : new Error(message.split('\n')[0]!);
}

/** The first `n` bytes of a stream, put back so the stream still starts with them. */
async function peek(input: Readable, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let have = 0;
  for await (const chunk of input.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    parts.push(chunk);
    have += chunk.length;
    if (have >= n) break;
  }
  const head = Buffer.concat(parts);
  if (head.length) input.unshift(head);
  return head.length >= n ? head : Buffer.concat([head, Buffer.alloc(n - head.length)]);
}

/** zstd (Node 20's zlib has none): fzstd's streaming decoder as a Transform. */
async function zstdStream(): Promise<Transform> {
  const { Decompress } = await import('fzstd');
  let sink: Transform | undefined;
  const d = new Decompress((data) => sink!.push(Buffer.from(data)));
  sink = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        d.push(chunk);
        cb();
      } catch (e) {
        cb(new Error(`zstd: ${(e as Error).message}`));
      }
    },
    flush(cb: TransformCallback) {
      try {
        d.push(new Uint8Array(0), true);
        cb();
      } catch (e) {
        cb(new Error(`zstd: ${(e as Error).message}`));
      }
    },
  });
  return sink;
}

/** Counts (and refuses past the bound) and hashes the uncompressed tar on its way to the parser. */
class Guard extends Transform {
  private n = 0;
  private readonly hash = createHash('sha256');

  constructor(
    private readonly bound: number,
    private readonly diffId: string | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.n += chunk.length;
    if (this.n > this.bound) return cb(new Error(`decompresses to more than ${this.bound} bytes (a decompression bomb?); refused`));
    if (this.diffId?.startsWith('sha256:')) this.hash.update(chunk);
    cb(null, chunk);
  }

  /** Why the tar does not match the config's diff_id, if it does not. */
  mismatch(): string | undefined {
    if (!this.diffId?.startsWith('sha256:')) return undefined;
    const got = `sha256:${this.hash.digest('hex')}`;
    return got === this.diffId ? undefined : `uncompressed content is ${got}, the image config says ${this.diffId}`;
  }
}
