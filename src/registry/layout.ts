import { createWriteStream, promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve as resolvePath } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VerifyStream, assertDigest, isDigest, splitDigest, verifyBytes } from './digest.js';
import { RegistryError, isRegistryError, manifestTooLarge } from './errors.js';
import { abandoned, assertRegularIfPresent, hashFile, lockFile, makeLayoutDirs, openRegular, readRegular, writeAtomic, writeIfMissing } from './layout-files.js';
import { detectManifestType, manifestChildren, parseManifest, referrerDescriptor, stripDescriptor } from './manifest.js';
import { Annotation, MAX_MANIFEST_BYTES, MediaType, isManifestType } from './media-types.js';
import type { Descriptor, FetchOptions, ImageIndex, PushOptions, Target } from './target.js';

const LAYOUT_FILE = 'oci-layout';
const INDEX_FILE = 'index.json';
const INGEST_DIR = '.ingest';
const TAG = /^[\w][\w.-]{0,127}$/;
const ALGORITHMS = ['sha256', 'sha512'];
/** `.ingest/<hex16>-<pid>-<random>`; before pids were recorded, `<hex16>-<random>`. */
const INGEST_NAME = /^[0-9a-f]{16}-(?:(\d+)-)?[0-9a-f]{12}$/;
/** `index.json.<pid>.<random>.tmp` (and oci-layout's); before pids were recorded, `index.json.<random>.tmp`. */
const TEMP_NAME = /^(?:index\.json|oci-layout)\.(?:(\d+)\.)?[0-9a-f]{12}\.tmp$/;

/** Serialises index.json updates per directory within this process (the file lock serialises processes). */
const indexLocks = new Map<string, Promise<unknown>>();

/** A blob whose bytes are not what its name says. */
export interface BadBlob {
  digest: string;
  path: string;
  /** The size comes from a descriptor that references the blob, when one does. */
  expected: { digest: string; size?: number };
  /** Absent when the blob could not be read as a regular file. */
  actual?: { digest: string; size: number };
  reason: string;
}

/** What `verify` found (and, with `repair`, removed). */
export interface LayoutReport {
  root: string;
  blobs: number;
  bytes: number;
  bad: BadBlob[];
  /** Temp files of writers that are gone: `.ingest/` leftovers, `*.tmp`. */
  debris: string[];
  /** index.json entries whose manifest blob is missing. */
  dangling: Array<{ digest: string; tag?: string }>;
  repaired: boolean;
}

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

  /** Is there a layout here at all (its `oci-layout` file)? Reading a missing one finds it empty. */
  async present(): Promise<boolean> {
    return fs.access(join(this.root, LAYOUT_FILE)).then(
      () => true,
      () => false,
    );
  }

  init(): Promise<void> {
    this.initialized ??= (async () => {
      await makeLayoutDirs(join(this.root, 'blobs', 'sha256'));
      await writeIfMissing(join(this.root, LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
      await writeIfMissing(join(this.root, INDEX_FILE), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] }));
    })();
    // A failed init (a FIFO in place of index.json) is not remembered: the next call says so again.
    this.initialized.catch(() => (this.initialized = undefined));
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

  private unknown(desc: { digest: string; mediaType?: string }): RegistryError {
    const manifest = desc.mediaType === undefined || isManifestType(desc.mediaType);
    return new RegistryError(manifest ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN', `${this.label(desc.digest)}: ${manifest ? 'manifest' : 'blob'} unknown`, 404);
  }

  /** A blob opened for reading; a FIFO or device in its place is refused, never read. */
  private async openBlob(desc: { digest: string; mediaType?: string }) {
    try {
      return await openRegular(this.blobPath(desc.digest));
    } catch (e) {
      if (isRegistryError(e)) throw e;
      throw this.unknown(desc);
    }
  }

  async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
    const handle = await this.openBlob(desc);
    const verify = new VerifyStream(desc, `blob ${desc.digest} in ${this.name}`);
    if (opts.onProgress) {
      const cb = opts.onProgress;
      verify.on('data', () => cb({ descriptor: desc, bytes: verify.bytes, total: desc.size }));
    }
    const src = handle.createReadStream();
    src.on('error', (e) => verify.destroy(e));
    // A reader that stops early destroys `verify`; pipe() would leave the file open until GC.
    verify.once('close', () => src.destroy());
    return src.pipe(verify);
  }

  /** Reads a whole manifest (bounded) from the store, verified. */
  async readManifestBytes(desc: Descriptor): Promise<Buffer> {
    if (desc.size > MAX_MANIFEST_BYTES) throw manifestTooLarge(this.label(desc.digest));
    const bytes = await this.readBlob(desc);
    verifyBytes(bytes, desc, `manifest ${desc.digest} in ${this.name}`);
    return bytes;
  }

  /** A whole (manifest-sized) blob, unverified. */
  private async readBlob(desc: { digest: string; mediaType?: string }): Promise<Buffer> {
    try {
      return await readRegular(this.blobPath(desc.digest), MAX_MANIFEST_BYTES, `${this.label(desc.digest)}: manifest`);
    } catch (e) {
      if (isRegistryError(e)) throw e;
      throw this.unknown(desc);
    }
  }

  async push(desc: Descriptor, content: Readable | Buffer, opts: PushOptions = {}): Promise<void> {
    await this.init();
    assertDigest(desc.digest);
    if (await this.exists(desc)) {
      if (!Buffer.isBuffer(content)) content.destroy();
      return;
    }
    const label = `blob ${desc.digest} for ${this.name}`;
    const ingest = join(this.root, INGEST_DIR);
    await fs.mkdir(ingest, { recursive: true });
    // The pid lets `verify` tell a write in flight from the leftover of a killed process.
    const tmp = join(ingest, `${splitDigest(desc.digest).hex.slice(0, 16)}-${process.pid}-${randomBytes(6).toString('hex')}`);
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
    if ((await this.readIndex()).manifests.some((d) => d.digest === desc.digest)) return;
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
      const bytes = await this.readBlob({ digest: reference });
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
    // The hot path (a check of a tag already in the store) then neither locks nor writes.
    if (isTagged(await this.readIndex(), entry, reference)) return;
    await this.updateIndex((index) => {
      if (isTagged(index, entry, reference)) return false;
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
    await assertRegularIfPresent(join(this.root, LAYOUT_FILE));
    try {
      text = (await readRegular(join(this.root, INDEX_FILE), 64 * MAX_MANIFEST_BYTES, `${this.name}: index.json`)).toString('utf8');
    } catch (e) {
      if (isRegistryError(e)) throw e;
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

  /**
   * Read-modify-write of index.json: serialised within this process by a promise chain and across
   * processes by a file lock, then replaced by rename so a reader never sees half of it.
   */
  private async updateIndex(change: (index: ImageIndex) => boolean): Promise<void> {
    const key = this.root;
    const previous = indexLocks.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.lockedUpdate(change));
    indexLocks.set(key, run);
    try {
      await run;
    } finally {
      if (indexLocks.get(key) === run) indexLocks.delete(key);
    }
  }

  private async lockedUpdate(change: (index: ImageIndex) => boolean): Promise<void> {
    await this.init();
    const path = join(this.root, INDEX_FILE);
    const lock = await lockFile(path);
    try {
      const index = await this.readIndex();
      if (!change(index)) return;
      index.schemaVersion = 2;
      index.mediaType ??= MediaType.OciIndex;
      await writeAtomic(path, JSON.stringify(index), lock.check);
    } finally {
      await lock.release();
    }
  }

  /** Removes a blob (one that failed its digest, so that a copy fetches it again). */
  async removeBlob(digest: string): Promise<void> {
    const path = this.blobPath(digest);
    const st = await fs.lstat(path).catch(() => undefined);
    if (st && !st.isDirectory()) await fs.rm(path, { force: true });
  }

  /** Is the blob there, whole and matching its digest? */
  async blobState(desc: { digest: string; size?: number }): Promise<'ok' | 'missing' | 'bad'> {
    try {
      const actual = await hashFile(this.blobPath(desc.digest), splitDigest(desc.digest).algorithm);
      return actual.digest === desc.digest && (desc.size === undefined || desc.size < 0 || actual.size === desc.size) ? 'ok' : 'bad';
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'bad';
    }
  }

  /**
   * The nodes of the graph under `root` that are missing or fail their digest, parents before
   * children; the failing ones are removed, so copying each returned node from a source restores
   * the graph. A bad manifest hides its children: call again after restoring it.
   */
  async repairGraph(root: Descriptor): Promise<Descriptor[]> {
    const broken: Descriptor[] = [];
    const seen = new Set<string>();
    const visit = async (d: Descriptor): Promise<void> => {
      if (seen.has(d.digest)) return;
      seen.add(d.digest);
      const state = await this.blobState(d);
      if (state === 'bad') await this.removeBlob(d.digest);
      if (state !== 'ok') return void broken.push(d);
      if (!isManifestType(d.mediaType)) return;
      for (const c of manifestChildren(parseManifest(await this.readManifestBytes(d), this.label(d.digest)))) await visit(c);
    };
    await visit(root);
    return broken;
  }

  /**
   * Re-hashes every blob (as `cacache verify` does) and looks for debris of killed writers and
   * index entries whose manifest is gone. With `repair`, removes bad blobs (a later copy fetches
   * them again), the debris, and those entries.
   */
  async verify(opts: { repair?: boolean } = {}): Promise<LayoutReport> {
    const report: LayoutReport = { root: this.root, blobs: 0, bytes: 0, bad: [], debris: [], dangling: [], repaired: false };
    const sizes = await this.referencedSizes();
    for (const algorithm of ALGORITHMS) {
      for (const hex of await listDir(join(this.root, 'blobs', algorithm))) {
        const digest = `${algorithm}:${hex}`;
        if (!isDigest(digest)) continue;
        const bad = await this.verifyBlob(digest, sizes.get(digest), report);
        if (!bad) continue;
        report.bad.push(bad);
        if (opts.repair) await this.removeBlob(digest);
      }
    }
    report.debris = await this.findDebris();
    if (opts.repair) for (const p of report.debris) await fs.rm(p, { recursive: true, force: true });
    report.dangling = await this.findDangling();
    if (opts.repair && report.dangling.length) await this.dropDangling();
    report.repaired = !!opts.repair && report.bad.length + report.debris.length + report.dangling.length > 0;
    return report;
  }

  private async verifyBlob(digest: string, size: number | undefined, report: LayoutReport): Promise<BadBlob | undefined> {
    const path = this.blobPath(digest);
    const expected = { digest, ...(size !== undefined ? { size } : {}) };
    let actual: { digest: string; size: number };
    try {
      actual = await hashFile(path, splitDigest(digest).algorithm);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return { digest, path, expected, reason: (e as Error).message };
    }
    report.blobs++;
    report.bytes += actual.size;
    if (actual.digest !== digest) return { digest, path, expected, actual, reason: 'does not match its digest' };
    if (size !== undefined && actual.size !== size) return { digest, path, expected, actual, reason: `has ${actual.size} bytes, expected ${size}` };
    return undefined;
  }

  /** digest → size, from every descriptor reachable from index.json through manifests that verify. */
  private async referencedSizes(): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    const visit = async (d: Descriptor): Promise<void> => {
      if (sizes.has(d.digest) || !isDigest(d.digest)) return;
      sizes.set(d.digest, d.size);
      if (!isManifestType(d.mediaType) || d.size > MAX_MANIFEST_BYTES) return;
      const children = await this.readManifestBytes(d).then(
        (b) => manifestChildren(parseManifest(b, this.label(d.digest))),
        () => [],
      );
      for (const c of children) await visit(c);
    };
    for (const d of (await this.readIndex()).manifests) await visit(d);
    return sizes;
  }

  /** Temp files whose writer is gone: `.ingest/` leftovers and `index.json.*.tmp`. Nothing else. */
  private async findDebris(): Promise<string[]> {
    const found: string[] = [];
    const consider = async (dir: string, pattern: RegExp) => {
      for (const name of await listDir(dir)) {
        const m = pattern.exec(name);
        if (!m) continue;
        const path = join(dir, name);
        const st = await fs.lstat(path).catch(() => undefined);
        if (st && abandoned(m[1] !== undefined ? Number(m[1]) : undefined, st.mtimeMs)) found.push(path);
      }
    };
    await consider(join(this.root, INGEST_DIR), INGEST_NAME);
    await consider(this.root, TEMP_NAME);
    return found;
  }

  private async findDangling(): Promise<Array<{ digest: string; tag?: string }>> {
    const out: Array<{ digest: string; tag?: string }> = [];
    for (const d of (await this.readIndex()).manifests) {
      if (!isDigest(d.digest) || (await this.blobState({ digest: d.digest })) !== 'missing') continue;
      const tag = d.annotations?.[Annotation.RefName];
      out.push({ digest: d.digest, ...(tag ? { tag } : {}) });
    }
    return out;
  }

  /** Drops the entries whose manifest blob is missing, deciding under the lock. */
  private async dropDangling(): Promise<void> {
    const present = new Map<string, boolean>();
    for (const d of (await this.readIndex()).manifests) present.set(d.digest, isDigest(d.digest) && (await fs.stat(this.blobPath(d.digest)).then(() => true, () => false)));
    await this.updateIndex((index) => {
      const before = index.manifests.length;
      // An entry added meanwhile (not in `present`) was written after its blob: keep it.
      index.manifests = index.manifests.filter((d) => present.get(d.digest) !== false);
      return index.manifests.length !== before;
    });
  }
}

/** The descriptor of an index.json entry without the layout's own ref.name annotation. */
function cleanDescriptor(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.artifactType) out.artifactType = d.artifactType;
  if (d.platform) out.platform = d.platform;
  return out;
}

/** Is `reference` already the last entry for this tag, naming this very manifest? */
function isTagged(index: ImageIndex, entry: Descriptor, reference: string): boolean {
  const current = index.manifests.filter((d) => d.annotations?.[Annotation.RefName] === reference);
  return current.length === 1 && current[0]!.digest === entry.digest && current[0]!.mediaType === entry.mediaType && current[0]!.size === entry.size && current[0]!.artifactType === entry.artifactType;
}

async function listDir(dir: string): Promise<string[]> {
  return fs.readdir(dir).catch(() => []);
}

