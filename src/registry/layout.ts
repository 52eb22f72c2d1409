import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve as resolvePath } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VerifyStream, assertDigest, isDigest, splitDigest, verifyBytes } from './digest.js';
import { RegistryError } from './errors.js';
import { detectManifestType, parseManifest, referrerDescriptor, stripDescriptor } from './manifest.js';
import { Annotation, MAX_MANIFEST_BYTES, MediaType, isManifestType } from './media-types.js';
import type { Descriptor, FetchOptions, ImageIndex, PushOptions, Target } from './target.js';

const LAYOUT_FILE = 'oci-layout';
const INDEX_FILE = 'index.json';
const TAG = /^[\w][\w.-]{0,127}$/;

/** Serialises index.json updates per directory within this process. */
const indexLocks = new Map<string, Promise<unknown>>();

/**
 * An OCI image layout directory (image spec, image-layout.md) as a `Target`: `oci-layout`,
 * `index.json`, `blobs/<alg>/<hex>`. Tags are `org.opencontainers.image.ref.name` annotations in
 * index.json, so `skopeo … oci:DIR:TAG` and `oras --oci-layout DIR:TAG` read what is written.
 * Blobs are written to `DIR/.ingest/`, verified, then renamed into place: a blob path only ever
 * holds complete, verified content.
 */
export class OciLayout implements Target {
  readonly root: string;
  readonly name: string;
  private initialized?: Promise<void>;

  constructor(root: string) {
    this.root = resolvePath(root);
    this.name = `oci:${root}`;
  }

  /** Opens a layout, creating its skeleton when the directory is new (or empty). */
  static async open(root: string): Promise<OciLayout> {
    const l = new OciLayout(root);
    await l.init();
    return l;
  }

  init(): Promise<void> {
    this.initialized ??= (async () => {
      await fs.mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true });
      await writeIfMissing(join(this.root, LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
      await writeIfMissing(join(this.root, INDEX_FILE), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] }));
    })();
    return this.initialized;
  }

  blobPath(digest: string): string {
    const { algorithm, hex } = splitDigest(digest);
    return join(this.root, 'blobs', algorithm, hex);
  }

  private label(ref: string): string {
    return isDigest(ref) ? `${this.name}@${ref}` : `${this.name}:${ref}`;
  }

  async exists(desc: Descriptor): Promise<boolean> {
    try {
      const st = await fs.stat(this.blobPath(desc.digest));
      return st.isFile() && (desc.size < 0 || st.size === desc.size);
    } catch {
      return false;
    }
  }

  async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
    const path = this.blobPath(desc.digest);
    try {
      await fs.access(path);
    } catch {
      const what = isManifestType(desc.mediaType) ? 'manifest unknown' : 'blob unknown';
      throw new RegistryError(isManifestType(desc.mediaType) ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN', `${this.label(desc.digest)}: ${what}`, 404);
    }
    const verify = new VerifyStream(desc, `blob ${desc.digest} in ${this.name}`);
    if (opts.onProgress) {
      const cb = opts.onProgress;
      verify.on('data', () => cb({ descriptor: desc, bytes: verify.bytes, total: desc.size }));
    }
    const src = createReadStream(path);
    src.on('error', (e) => verify.destroy(e));
    return src.pipe(verify);
  }

  /** Reads a whole manifest (bounded) from the store, verified. */
  async readManifestBytes(desc: Descriptor): Promise<Buffer> {
    if (desc.size > MAX_MANIFEST_BYTES) throw new RegistryError('TOO_LARGE', `${this.label(desc.digest)}: manifest larger than 4 MiB refused`);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(this.blobPath(desc.digest));
    } catch {
      throw new RegistryError('MANIFEST_UNKNOWN', `${this.label(desc.digest)}: manifest unknown`, 404);
    }
    verifyBytes(bytes, desc, `manifest ${desc.digest} in ${this.name}`);
    return bytes;
  }

  async push(desc: Descriptor, content: Readable | Buffer, opts: PushOptions = {}): Promise<void> {
    await this.init();
    assertDigest(desc.digest);
    if (await this.exists(desc)) {
      if (!Buffer.isBuffer(content)) content.destroy();
      return;
    }
    const label = `blob ${desc.digest} for ${this.name}`;
    const ingest = join(this.root, '.ingest');
    await fs.mkdir(ingest, { recursive: true });
    const tmp = join(ingest, `${splitDigest(desc.digest).hex.slice(0, 16)}-${randomBytes(6).toString('hex')}`);
    const verify = new VerifyStream(desc, label);
    if (opts.onProgress) {
      const cb = opts.onProgress;
      verify.on('data', () => cb({ descriptor: desc, bytes: verify.bytes, total: desc.size }));
    }
    try {
      const source = Buffer.isBuffer(content) ? Readable.from([content]) : content;
      await pipeline(source, verify, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
      const dest = this.blobPath(desc.digest);
      await fs.mkdir(join(dest, '..'), { recursive: true });
      await fs.rename(tmp, dest);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
    if (isManifestType(desc.mediaType)) await this.indexReferrer(desc);
  }

  /** A manifest with a subject is listed (untagged) in index.json so referrers can find it. */
  private async indexReferrer(desc: Descriptor): Promise<void> {
    const bytes = await this.readManifestBytes(desc);
    const m = parseManifest(bytes, this.label(desc.digest));
    if (!m.subject) return;
    await this.updateIndex((index) => {
      if (index.manifests.some((d) => d.digest === desc.digest)) return false;
      index.manifests.push(referrerDescriptor(desc, m));
      return true;
    });
  }

  async resolve(reference: string): Promise<Descriptor> {
    const index = await this.readIndex();
    if (isDigest(reference)) {
      const listed = index.manifests.find((d) => d.digest === reference);
      if (listed) return cleanDescriptor(listed);
      let bytes: Buffer;
      try {
        bytes = await fs.readFile(this.blobPath(reference));
      } catch {
        throw new RegistryError('MANIFEST_UNKNOWN', `${this.label(reference)}: manifest unknown`, 404);
      }
      if (bytes.length > MAX_MANIFEST_BYTES) throw new RegistryError('TOO_LARGE', `${this.label(reference)}: manifest larger than 4 MiB refused`);
      verifyBytes(bytes, { digest: reference }, `manifest ${reference} in ${this.name}`);
      const m = parseManifest(bytes, this.label(reference));
      return { mediaType: detectManifestType(m), digest: reference, size: bytes.length, ...(m.artifactType ? { artifactType: m.artifactType } : {}) };
    }
    const found = [...index.manifests].reverse().find((d) => d.annotations?.[Annotation.RefName] === reference);
    if (!found) throw new RegistryError('MANIFEST_UNKNOWN', `${this.label(reference)}: manifest unknown`, 404);
    return cleanDescriptor(found);
  }

  async tag(desc: Descriptor, reference: string): Promise<void> {
    if (!TAG.test(reference)) throw new RegistryError('INVALID_REFERENCE', `${this.name}: invalid tag ${JSON.stringify(reference)}`);
    await this.init();
    if (!(await this.exists(desc))) throw new RegistryError('MANIFEST_UNKNOWN', `${this.label(desc.digest)}: manifest unknown`, 404);
    const entry: Descriptor = {
      ...stripDescriptor(desc),
      ...(desc.artifactType ? { artifactType: desc.artifactType } : {}),
      annotations: { [Annotation.RefName]: reference },
    };
    await this.updateIndex((index) => {
      index.manifests = index.manifests.filter((d) => d.annotations?.[Annotation.RefName] !== reference);
      index.manifests.push(entry);
      return true;
    });
  }

  async pushReference(desc: Descriptor, content: Buffer, reference: string): Promise<void> {
    await this.push(desc, content);
    await this.tag(desc, reference);
  }

  /** Removes a tag from index.json (the blobs stay; they may be shared). */
  async untag(reference: string): Promise<boolean> {
    let removed = false;
    await this.updateIndex((index) => {
      const before = index.manifests.length;
      index.manifests = index.manifests.filter((d) => d.annotations?.[Annotation.RefName] !== reference);
      removed = index.manifests.length !== before;
      return removed;
    });
    return removed;
  }

  async tags(): Promise<string[]> {
    const index = await this.readIndex();
    const tags = new Set<string>();
    for (const d of index.manifests) {
      const t = d.annotations?.[Annotation.RefName];
      if (t) tags.add(t);
    }
    return [...tags].sort();
  }

  async referrers(subject: Descriptor, artifactType?: string): Promise<Descriptor[]> {
    const index = await this.readIndex();
    const out: Descriptor[] = [];
    const seen = new Set<string>();
    for (const d of index.manifests) {
      if (seen.has(d.digest) || !isManifestType(d.mediaType)) continue;
      seen.add(d.digest);
      const m = parseManifest(await this.readManifestBytes(d), this.label(d.digest));
      if (m.subject?.digest !== subject.digest) continue;
      const r = referrerDescriptor(cleanDescriptor(d), m);
      if (!artifactType || r.artifactType === artifactType) out.push(r);
    }
    return out;
  }

  async readIndex(): Promise<ImageIndex> {
    let text: string;
    try {
      text = await fs.readFile(join(this.root, INDEX_FILE), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
      throw new RegistryError('LAYOUT', `${this.name}: cannot read index.json`);
    }
    try {
      const v = JSON.parse(text) as ImageIndex;
      if (!Array.isArray(v.manifests)) throw new Error('no manifests');
      return v;
    } catch {
      throw new RegistryError('LAYOUT', `${this.name}: index.json is not a valid image index`);
    }
  }

  /** Read-modify-write of index.json under a per-directory lock, replaced atomically. */
  private async updateIndex(change: (index: ImageIndex) => boolean): Promise<void> {
    const key = this.root;
    const previous = indexLocks.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(async () => {
      await this.init();
      const index = await this.readIndex();
      if (!change(index)) return;
      index.schemaVersion = 2;
      index.mediaType ??= MediaType.OciIndex;
      const path = join(this.root, INDEX_FILE);
      const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      await fs.writeFile(tmp, JSON.stringify(index));
      await fs.rename(tmp, path);
    });
    indexLocks.set(key, run);
    try {
      await run;
    } finally {
      if (indexLocks.get(key) === run) indexLocks.delete(key);
    }
  }
}

/** The descriptor of an index.json entry without the layout's own ref.name annotation. */
function cleanDescriptor(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.artifactType) out.artifactType = d.artifactType;
  if (d.platform) out.platform = d.platform;
  return out;
}

async function writeIfMissing(path: string, text: string): Promise<void> {
  try {
    await fs.writeFile(path, text, { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new RegistryError('LAYOUT', `cannot create ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

