import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { createDigester, digestOf, verifyBytes } from './digest.js';
import { RegistryError } from './errors.js';
import { detectManifestType, manifestDescriptor, parseManifest } from './manifest.js';
import { MAX_MANIFEST_BYTES } from './media-types.js';
import { readBounded } from './read-bounded.js';
import type { Descriptor, FetchOptions, Manifest, PushOptions, Target } from './target.js';

/** Reads a whole (small) piece of content, refusing more than `max` bytes; verified by `fetch`. */
export async function fetchBytes(target: Target, desc: Descriptor, max = MAX_MANIFEST_BYTES): Promise<Buffer> {
  if (desc.size > max) throw new RegistryError('TOO_LARGE', `${target.name}@${desc.digest}: ${desc.size} bytes is more than the ${max} allowed`);
  const bytes = await readBounded(await target.fetch(desc), max, `${target.name}@${desc.digest}`);
  verifyBytes(bytes, desc, `${desc.digest} from ${target.name}`);
  return bytes;
}

/** Resolves a tag or digest and reads the manifest it names (bounded, verified, parsed). */
export async function fetchManifest(target: Target, reference: string): Promise<{ descriptor: Descriptor; bytes: Buffer; manifest: Manifest }> {
  const descriptor = await target.resolve(reference);
  const bytes = await fetchBytes(target, descriptor);
  const manifest = parseManifest(bytes, `${target.name}@${descriptor.digest}`);
  return { descriptor: { ...descriptor, mediaType: detectManifestType(manifest, descriptor.mediaType) }, bytes, manifest };
}

/** Pushes a manifest object (serialized once, so the digest is of the exact bytes) and tags it. */
export async function pushManifest(target: Target, manifest: Manifest | Buffer, opts: { reference?: string; mediaType?: string } = {}): Promise<Descriptor> {
  const bytes = Buffer.isBuffer(manifest) ? manifest : Buffer.from(JSON.stringify(manifest));
  const parsed = parseManifest(bytes, target.name);
  const desc = manifestDescriptor(bytes, opts.mediaType ?? detectManifestType(parsed), parsed.artifactType ? { artifactType: parsed.artifactType } : {});
  if (opts.reference) await target.pushReference(desc, bytes, opts.reference);
  else await target.push(desc, bytes);
  return desc;
}

/** Pushes bytes already in memory as a blob (skipped when the target has it). */
export async function pushBytes(target: Target, data: Buffer, mediaType: string, extra: Partial<Descriptor> = {}, opts: PushOptions = {}): Promise<Descriptor> {
  const desc: Descriptor = { mediaType, digest: digestOf(data), size: data.length, ...extra };
  if (!(await target.exists(desc))) await target.push(desc, data, opts);
  return desc;
}

/** Hashes a file (streaming), then pushes it as a blob unless the target already has it. */
export async function pushFile(target: Target, path: string, mediaType: string, extra: Partial<Descriptor> = {}, opts: PushOptions = {}): Promise<Descriptor> {
  const desc: Descriptor = { mediaType, ...(await describeFile(path)), ...extra };
  if (!(await target.exists(desc))) await target.push(desc, createReadStream(path), opts);
  return desc;
}

/** Digest and size of a file, read as a stream (memory stays bounded). */
export async function describeFile(path: string, algorithm = 'sha256'): Promise<{ digest: string; size: number }> {
  const hash = createDigester(algorithm);
  let size = 0;
  for await (const c of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(c);
    size += c.length;
  }
  return { digest: `${algorithm}:${hash.digest('hex')}`, size };
}

/**
 * Streams a blob into `path`: written to a temp file beside it, and renamed into place only once
 * its digest and size are verified. On any failure nothing is left at `path` or beside it.
 */
export async function fetchToFile(target: Target, desc: Descriptor, path: string, opts: FetchOptions & { mode?: number } = {}): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.part`);
  try {
    const stream: Readable = await target.fetch(desc, opts);
    await pipeline(stream, createWriteStream(tmp, { flags: 'wx', mode: opts.mode ?? 0o644 }));
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
