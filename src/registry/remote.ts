import { Readable } from 'node:stream';
import { ClientPool, RegistryClient, repositoryScope, type ClientOptions } from './auth.js';
import { VerifyStream, digestOf, isDigest, splitDigest, verifyBytes } from './digest.js';
import { RegistryError, manifestTooLarge, type RegistryErrorCode } from './errors.js';
import { buildIndex, isIndex, parseManifest, referrerDescriptor, referrersTag } from './manifest.js';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, MediaType, detectManifestTypeHeader, isManifestType } from './media-types.js';
import { DEFAULT_LIST_BYTES, DEFAULT_LIST_PAGES, Pager, nextLink } from './paging.js';
import { readBounded } from './read-bounded.js';
import { Reference, parseReference } from './reference.js';
import type { BlobMounter, Descriptor, FetchOptions, ImageIndex, Manifest, PushOptions, Target } from './target.js';
import type { HttpResponse } from './transport.js';

export interface RemoteOptions extends ClientOptions {
  /** Share clients (and their token caches) between repositories. */
  pool?: ClientPool;
  /** Blobs up to this size go up in one PUT (default 8 MiB). */
  monolithicMaxBytes?: number;
  /** Size of each PATCH of a chunked upload; also the upload's memory bound (default 16 MiB). */
  chunkBytes?: number;
  /** Page size asked for when listing tags (default 1000). */
  tagPageSize?: number;
  /** A repository with more tags is an error, not a shorter list (default 100,000). */
  maxTags?: number;
  /** A subject with more referrers is an error, not a shorter list (default 10,000). */
  maxReferrers?: number;
  /** Most bytes read over the pages of one listing (default 32 MiB). */
  maxListBytes?: number;
  /** Most pages requested for one listing (default 10,000). */
  maxListPages?: number;
}

const PULL = ['pull'];
const PUSH_PULL = ['pull', 'push'];

/** A repository on an OCI distribution (v1.1) registry, as a `Target`. */
export class RemoteRepository implements Target, BlobMounter {
  readonly client: RegistryClient;
  readonly reference: Reference;
  readonly name: string;
  private readonly opts: RemoteOptions;

  constructor(ref: Reference | string, opts: RemoteOptions = {}) {
    this.reference = typeof ref === 'string' ? parseReference(ref) : ref;
    this.opts = opts;
    this.client = (opts.pool ?? new ClientPool(opts)).get(this.reference.apiHost);
    this.name = this.reference.name;
  }

  get repository(): string {
    return this.reference.repository;
  }

  /** Mounts work between repositories reached at the same host over the same scheme. */
  get mountDomain(): string {
    return `${this.client.transport.scheme}://${this.reference.apiHost}`;
  }

  private url(path: string): string {
    return this.client.url(`${this.repository}/${path}`);
  }

  private label(ref?: string): string {
    if (ref === undefined) return this.name;
    return isDigest(ref) ? `${this.name}@${ref}` : `${this.name}:${ref}`;
  }

  private scopes(actions: string[]): string[] {
    return [repositoryScope(this.repository, actions)];
  }

  async exists(desc: Descriptor): Promise<boolean> {
    const kind = isManifestType(desc.mediaType) ? 'manifests' : 'blobs';
    const res = await this.client.send({
      method: 'HEAD',
      url: this.url(`${kind}/${desc.digest}`),
      headers: kind === 'manifests' ? { accept: MANIFEST_ACCEPT } : {},
      scopes: this.scopes(PULL),
      repository: this.repository,
    });
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw this.responseError(res, this.label(desc.digest));
  }

  async resolve(reference: string): Promise<Descriptor> {
    const res = await this.client.send({
      method: 'HEAD',
      url: this.url(`manifests/${reference}`),
      headers: { accept: MANIFEST_ACCEPT },
      scopes: this.scopes(PULL),
      repository: this.repository,
    });
    if (res.statusCode !== 200) throw this.responseError(res, this.label(reference), undefined, 'MANIFEST_UNKNOWN');
    const size = Number(res.headers['content-length']);
    if (size > MAX_MANIFEST_BYTES) throw manifestTooLarge(this.label(reference));
    const headerDigest = res.headers['docker-content-digest'];
    const mediaType = detectManifestTypeHeader(res.headers['content-type']);
    if (isDigest(reference)) {
      if (typeof headerDigest === 'string' && headerDigest !== reference && sameAlgorithm(headerDigest, reference)) {
        throw new RegistryError('DIGEST_MISMATCH', `${this.label(reference)}: registry reports digest ${headerDigest}`);
      }
      if (mediaType && Number.isFinite(size)) return { mediaType, digest: reference, size };
    } else if (typeof headerDigest === 'string' && isDigest(headerDigest) && mediaType && Number.isFinite(size)) {
      return { mediaType, digest: headerDigest, size };
    }
    // Some registries omit the digest or type on HEAD: fetch the manifest and hash it ourselves.
    return (await this.fetchManifest(reference)).descriptor;
  }

  /**
   * GETs a manifest by tag or digest, bounded to MAX_MANIFEST_BYTES, and checks the bytes against the digest
   * asked for, the registry's `Docker-Content-Digest`, and `expected` when given.
   */
  async fetchManifest(reference: string, expected?: Descriptor): Promise<{ descriptor: Descriptor; bytes: Buffer; manifest: Manifest }> {
    const label = this.label(reference);
    if (expected && expected.size > MAX_MANIFEST_BYTES) throw manifestTooLarge(label);
    const res = await this.client.send({
      method: 'GET',
      url: this.url(`manifests/${reference}`),
      headers: { accept: MANIFEST_ACCEPT },
      scopes: this.scopes(PULL),
      repository: this.repository,
      maxBodyBytes: MAX_MANIFEST_BYTES,
    }).catch((e: unknown) => {
      if (e instanceof RegistryError && e.code === 'TOO_LARGE') throw manifestTooLarge(label);
      throw e;
    });
    if (res.statusCode !== 200) throw this.responseError(res, label, undefined, 'MANIFEST_UNKNOWN');
    const bytes = res.body;
    if (isDigest(reference)) verifyBytes(bytes, { digest: reference }, `manifest ${reference} from ${this.name}`);
    if (expected) verifyBytes(bytes, expected, `manifest ${expected.digest} from ${this.name}`);
    const headerDigest = res.headers['docker-content-digest'];
    const computed = digestOf(bytes);
    if (typeof headerDigest === 'string' && isDigest(headerDigest)) {
      const mine = sameAlgorithm(headerDigest, computed) ? computed : digestOf(bytes, splitDigest(headerDigest).algorithm);
      if (mine !== headerDigest) throw new RegistryError('DIGEST_MISMATCH', `manifest ${label} does not match its Docker-Content-Digest`);
    }
    const manifest = parseManifest(bytes, label);
    const mediaType = manifest.mediaType ?? detectManifestTypeHeader(res.headers['content-type']) ?? (isIndex(manifest) ? MediaType.OciIndex : MediaType.OciManifest);
    const digest = isDigest(reference) ? reference : expected?.digest ?? computed;
    const descriptor: Descriptor = { mediaType, digest, size: bytes.length };
    if (manifest.artifactType) descriptor.artifactType = manifest.artifactType;
    return { descriptor, bytes, manifest };
  }

  async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
    if (isManifestType(desc.mediaType)) {
      const { bytes } = await this.fetchManifest(desc.digest, desc);
      opts.onProgress?.({ descriptor: desc, bytes: bytes.length, total: desc.size });
      return Readable.from([bytes]);
    }
    const label = `blob ${desc.digest} from ${this.name}`;
    const res = await this.client.sendStream({
      method: 'GET',
      url: this.url(`blobs/${desc.digest}`),
      scopes: this.scopes(PULL),
      repository: this.repository,
      label: `blob ${desc.digest}`,
    });
    if (res.statusCode !== 200) {
      const body = await readSmall(res.stream);
      throw this.responseError({ statusCode: res.statusCode, headers: res.headers, body, url: res.url }, this.label(desc.digest), undefined, 'BLOB_UNKNOWN');
    }
    const length = res.headers['content-length'];
    if (length !== undefined && desc.size >= 0 && Number(length) !== desc.size) {
      res.stream.destroy();
      throw new RegistryError('SIZE_MISMATCH', `${label} has ${length} bytes, expected ${desc.size}`);
    }
    const verify = new VerifyStream(desc, label);
    if (opts.onProgress) {
      const cb = opts.onProgress;
      verify.on('data', () => cb({ descriptor: desc, bytes: verify.bytes, total: desc.size }));
    }
    res.stream.on('error', (e) => verify.destroy(this.client.transport.networkError(res.url, e)));
    return res.stream.pipe(verify);
  }

  async push(desc: Descriptor, content: Readable | Buffer, opts: PushOptions = {}): Promise<void> {
    if (isManifestType(desc.mediaType)) {
      const bytes = Buffer.isBuffer(content) ? content : await readBounded(content, MAX_MANIFEST_BYTES, this.label(desc.digest));
      await this.putManifest(desc, bytes, desc.digest);
      opts.onProgress?.({ descriptor: desc, bytes: bytes.length, total: desc.size });
      return;
    }
    await this.uploadBlob(desc, content, opts);
  }

  async pushReference(desc: Descriptor, content: Buffer, reference: string): Promise<void> {
    await this.putManifest(desc, content, reference);
  }

  async tag(desc: Descriptor, reference: string): Promise<void> {
    const { bytes } = await this.fetchManifest(desc.digest, desc);
    await this.putManifest(desc, bytes, reference);
  }

  /** Deletes a manifest by digest (distribution refuses deletion by tag). */
  async deleteManifest(digest: string): Promise<void> {
    const res = await this.client.send({ method: 'DELETE', url: this.url(`manifests/${digest}`), scopes: this.scopes(['delete']), repository: this.repository });
    if (res.statusCode !== 202 && res.statusCode !== 200) throw this.responseError(res, this.label(digest));
  }

  private async putManifest(desc: Descriptor, bytes: Buffer, reference: string): Promise<void> {
    const label = this.label(reference);
    verifyBytes(bytes, desc, `manifest ${desc.digest}`);
    const manifest = parseManifest(bytes, label);
    const res = await this.client.send({
      method: 'PUT',
      url: this.url(`manifests/${reference}`),
      headers: { 'content-type': desc.mediaType },
      body: bytes,
      scopes: this.scopes(PUSH_PULL),
      repository: this.repository,
    });
    if (res.statusCode !== 201 && res.statusCode !== 200) throw this.responseError(res, label);
    const got = res.headers['docker-content-digest'];
    if (typeof got === 'string' && isDigest(got) && sameAlgorithm(got, desc.digest) && got !== desc.digest) {
      throw new RegistryError('DIGEST_MISMATCH', `${label}: registry stored digest ${got}, expected ${desc.digest}`);
    }
    // A registry with the referrers API says so with OCI-Subject; otherwise keep the fallback tag.
    if (manifest.subject && res.headers['oci-subject'] === undefined) {
      await this.addToReferrersFallback(manifest.subject, referrerDescriptor(desc, manifest));
    }
  }

  /** Adds a referrer to the `sha256-<hex>` index; not atomic against a concurrent writer. */
  private async addToReferrersFallback(subject: Descriptor, referrer: Descriptor): Promise<void> {
    const tag = referrersTag(subject.digest);
    let index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
    try {
      const current = await this.fetchManifest(tag);
      this.assertNotSubject(current.descriptor, subject);
      if (isIndex(current.manifest)) index = current.manifest;
    } catch (e) {
      if (!(e instanceof RegistryError && (e.code === 'MANIFEST_UNKNOWN' || e.code === 'NOT_FOUND'))) throw e;
    }
    if (index.manifests.some((d) => d.digest === referrer.digest)) return;
    const next = buildIndex([...index.manifests, referrer]);
    await this.putManifest(next.descriptor, next.bytes, tag);
  }

  /** Cross-repository mount; true when the registry mounted it, false when it must be uploaded. */
  async mount(desc: Descriptor, fromRepository: string): Promise<boolean> {
    const u = new URL(this.url('blobs/uploads/'));
    u.searchParams.set('mount', desc.digest);
    u.searchParams.set('from', fromRepository);
    const res = await this.client.send({
      method: 'POST',
      url: u.toString(),
      scopes: [...this.scopes(PUSH_PULL), repositoryScope(fromRepository, PULL)],
      repository: this.repository,
    });
    if (res.statusCode === 201) return true;
    if (res.statusCode === 202) {
      await this.cancelUpload(res).catch(() => undefined);
      return false;
    }
    throw this.responseError(res, this.label(desc.digest));
  }

  private async cancelUpload(res: HttpResponse): Promise<void> {
    const loc = res.headers.location;
    if (!loc) return;
    await this.client.send({ method: 'DELETE', url: new URL(loc, res.url).toString(), scopes: this.scopes(PUSH_PULL), repository: this.repository });
  }

  /**
   * Uploads a blob: one PUT when small, else PATCH chunks of bounded size and a final PUT
   * (distribution 2.8 stores nothing for a lone `POST ?digest=`, so never rely on it).
   */
  private async uploadBlob(desc: Descriptor, content: Readable | Buffer, opts: PushOptions): Promise<void> {
    const label = this.label(desc.digest);
    const start = await this.client.send({
      method: 'POST',
      url: this.url('blobs/uploads/'),
      scopes: this.scopes(PUSH_PULL),
      repository: this.repository,
    });
    if (start.statusCode !== 202) throw this.responseError(start, label);
    let location = this.location(start, label);
    const monolithic = this.opts.monolithicMaxBytes ?? 8 * 1024 * 1024;
    const chunkBytes = this.opts.chunkBytes ?? 16 * 1024 * 1024;
    const progress = (bytes: number) => opts.onProgress?.({ descriptor: desc, bytes, total: desc.size });
    const source: AsyncIterable<Buffer> | Iterable<Buffer> = Buffer.isBuffer(content) ? [content] : content;
    try {
      if (desc.size <= monolithic) {
        const body = Buffer.isBuffer(content) ? content : await readBounded(content, Math.max(desc.size, 0) + 1, label);
        verifyBytes(body, desc, `blob ${desc.digest}`);
        await this.finishUpload(location, desc, label, body);
        progress(body.length);
        return;
      }
      let offset = 0;
      // Read the next chunk while the current one is on the wire (two buffers in flight at most).
      const it = chunks(source, chunkBytes)[Symbol.asyncIterator]();
      let pending = it.next();
      for (;;) {
        const step = await pending;
        if (step.done) break;
        const chunk = step.value;
        pending = it.next();
        pending.catch(() => undefined); // surfaced by the await above on the next turn
        if (offset + chunk.length > desc.size) throw new RegistryError('SIZE_MISMATCH', `blob ${desc.digest} is larger than its ${desc.size} bytes`);
        const res = await this.sendUpload(location, {
          method: 'PATCH',
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${offset}-${offset + chunk.length - 1}`,
          },
          body: chunk,
        });
        if (res.statusCode !== 202) throw this.responseError(res, label);
        location = this.location(res, label);
        offset += chunk.length;
        progress(offset);
      }
      if (offset !== desc.size) throw new RegistryError('SIZE_MISMATCH', `blob ${desc.digest} has ${offset} bytes, expected ${desc.size}`);
      await this.finishUpload(location, desc, label);
    } catch (e) {
      if (!Buffer.isBuffer(content)) content.destroy(); // stops a read-ahead still running
      // Abandon the session so the registry can drop the partial data; the error is what matters.
      await this.sendUpload(location, { method: 'DELETE' }).catch(() => undefined);
      throw e;
    }
  }

  private async finishUpload(location: string, desc: Descriptor, label: string, body?: Buffer): Promise<void> {
    const u = new URL(location);
    u.searchParams.set('digest', desc.digest);
    const res = await this.sendUpload(u.toString(), {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: body ?? Buffer.alloc(0),
    });
    if (res.statusCode !== 201 && res.statusCode !== 204) throw this.responseError(res, label);
  }

  /** Upload locations may point elsewhere (storage front-ends): no credential leaves the registry. */
  private sendUpload(url: string, req: { method: 'PATCH' | 'PUT' | 'DELETE'; headers?: Record<string, string>; body?: Buffer }): Promise<HttpResponse> {
    const sameHost = new URL(url).host === new URL(this.client.baseUrl).host;
    const full = { ...req, url, headers: req.headers ?? {} };
    return sameHost ? this.client.send({ ...full, scopes: this.scopes(PUSH_PULL), repository: this.repository }) : this.client.transport.request(full);
  }

  private location(res: HttpResponse, label: string): string {
    const loc = res.headers.location;
    if (!loc) throw new RegistryError('PROTOCOL', `${label}: upload answer without Location`);
    return new URL(loc, res.url).toString();
  }

  /**
   * All tags, following `Link` pages, or `last=` when the registry pages without links. Bounded
   * by `maxTags`, `maxListBytes` and `maxListPages`: reaching one is an error, never a shorter list.
   */
  async tags(): Promise<string[]> {
    const pageSize = this.opts.tagPageSize ?? 1000;
    const pager = this.pager(`${this.name}: tag list`, 'tags', this.opts.maxTags ?? 100_000);
    const seen = new Set<string>();
    let url: string | undefined = `${this.url('tags/list')}?n=${pageSize}`;
    while (url) {
      pager.visit(url);
      const res = await this.listPage(url, pager, {});
      if (res.statusCode !== 200) throw this.responseError(res, this.name);
      let tags: string[];
      try {
        tags = (JSON.parse(res.body.toString('utf8')) as { tags?: string[] | null }).tags ?? [];
      } catch {
        throw new RegistryError('PROTOCOL', `${this.name}: tag list is not valid JSON`);
      }
      const before = seen.size;
      for (const t of tags) seen.add(t);
      pager.count(res.body.length, seen.size - before);
      const next = nextLink(res.headers.link);
      if (next) {
        if (tags.length > 0 && seen.size === before) throw new RegistryError('PROTOCOL', `${this.name}: tag list pages repeat earlier tags`);
        url = new URL(next, res.url).toString();
      } else if (tags.length >= pageSize && seen.size > before) {
        // A full page without Link: ask for what follows; a registry ignoring `last` repeats itself
        // and the walk ends on the page with nothing new.
        url = `${this.url('tags/list')}?n=${pageSize}&last=${encodeURIComponent(tags[tags.length - 1]!)}`;
      } else url = undefined;
    }
    return [...seen].sort();
  }

  private pager(subject: string, unit: string, maxItems: number, verbs = true): Pager {
    const limits = { maxItems, maxBytes: this.opts.maxListBytes ?? DEFAULT_LIST_BYTES, maxPages: this.opts.maxListPages ?? DEFAULT_LIST_PAGES };
    return new Pager(subject, unit, limits, verbs);
  }

  /** One page of a listing, its body bounded by what the listing may still read. */
  private async listPage(url: string, pager: Pager, o: { accept?: string; maxBytes?: number }): Promise<HttpResponse> {
    const pageMax = o.maxBytes ?? 16 * 1024 * 1024;
    const maxBodyBytes = Math.min(pageMax, pager.bytesLeft);
    return this.client
      .send({ method: 'GET', url, headers: o.accept ? { accept: o.accept } : {}, scopes: this.scopes(PULL), repository: this.repository, maxBodyBytes })
      .catch((e: unknown) => {
        throw e instanceof RegistryError && e.code === 'TOO_LARGE' ? pager.pageTooLarge(pageMax) : e;
      });
  }

  /** Referrers through the API, or the fallback tag when the registry lacks the API (404). */
  async referrers(subject: Descriptor, artifactType?: string): Promise<Descriptor[]> {
    const label = `${this.label(subject.digest)}: referrers`;
    const u = new URL(this.url(`referrers/${subject.digest}`));
    if (artifactType) u.searchParams.set('artifactType', artifactType);
    let url: string | undefined = u.toString();
    const found: Descriptor[] = [];
    const pager = this.referrersPager(label);
    for (let page = 0; url; page++) {
      pager.visit(url);
      const res = await this.listPage(url, pager, { accept: MediaType.OciIndex, maxBytes: MAX_MANIFEST_BYTES });
      if (res.statusCode === 404 && page === 0) return this.referrersFromTag(subject, artifactType);
      if (res.statusCode !== 200) throw this.responseError(res, label, 'REFERRERS');
      let index: ImageIndex;
      try {
        index = JSON.parse(res.body.toString('utf8')) as ImageIndex;
      } catch {
        throw new RegistryError('REFERRERS', `${label}: answer is not valid JSON`);
      }
      if (!Array.isArray(index.manifests)) throw new RegistryError('REFERRERS', `${label}: answer is not an image index`);
      pager.count(res.body.length, index.manifests.length);
      found.push(...index.manifests);
      const next = nextLink(res.headers.link);
      url = next ? new URL(next, res.url).toString() : undefined;
    }
    return artifactType ? found.filter((d) => d.artifactType === artifactType) : found;
  }

  private referrersPager(label: string): Pager {
    return this.pager(`${label}:`, 'referrers', this.opts.maxReferrers ?? 10_000, false);
  }

  private async referrersFromTag(subject: Descriptor, artifactType?: string): Promise<Descriptor[]> {
    let index: Manifest;
    try {
      const found = await this.fetchManifest(referrersTag(subject.digest));
      this.assertNotSubject(found.descriptor, subject);
      index = found.manifest;
    } catch (e) {
      // No fallback tag means nobody attached anything: an empty answer, not a failure.
      if (e instanceof RegistryError && (e.code === 'MANIFEST_UNKNOWN' || e.code === 'NOT_FOUND')) return [];
      if (e instanceof RegistryError && e.code === 'REFERRERS') throw e;
      if (e instanceof RegistryError) throw new RegistryError('REFERRERS', `${this.label(subject.digest)}: referrers: ${e.message}`, e.status);
      throw e;
    }
    if (!isIndex(index)) throw new RegistryError('REFERRERS', `${this.label(subject.digest)}: referrers tag ${referrersTag(subject.digest)} is not an index`);
    // One manifest, already bounded in bytes; its entries meet the same bound as the API's pages.
    this.referrersPager(`${this.label(subject.digest)}: referrers`).count(0, index.manifests.length);
    return artifactType ? index.manifests.filter((d) => d.artifactType === artifactType) : index.manifests;
  }

  /**
   * Some registries answer a digest-shaped tag with the manifest of that digest: the fallback tag
   * then names the subject itself, and an index subject would be misread as its own referrers.
   */
  private assertNotSubject(found: Descriptor, subject: Descriptor): void {
    if (found.digest !== subject.digest) return;
    throw new RegistryError('REFERRERS', `${this.label(subject.digest)}: referrers: the fallback tag ${referrersTag(subject.digest)} resolves to the subject itself, not to a referrers index`);
  }

  /** One line from a registry's error answer: `ref: manifest unknown`, `ref: unauthorized: …`. */
  responseError(res: HttpResponse, context: string, code?: RegistryErrorCode, notFound: RegistryErrorCode = 'NOT_FOUND'): RegistryError {
    const status = res.statusCode;
    if (status === 401) return this.client.unauthorized(context);
    const { code: apiCode, message } = registryErrorBody(res.body);
    const text = apiCode ? apiCode.toLowerCase().replace(/_/g, ' ') : '';
    const detail = message && message.toLowerCase() !== text ? `: ${message}` : '';
    if (status === 403) return new RegistryError(code ?? 'DENIED', `${context}: denied${detail}`, status);
    if (status === 429) return new RegistryError(code ?? 'TOO_MANY_REQUESTS', `${context}: too many requests (rate limited)`, status);
    if (status === 404) {
      const c: RegistryErrorCode = apiCode === 'MANIFEST_UNKNOWN' ? 'MANIFEST_UNKNOWN' : apiCode === 'BLOB_UNKNOWN' ? 'BLOB_UNKNOWN' : apiCode === 'NAME_UNKNOWN' ? 'NAME_UNKNOWN' : notFound;
      // A HEAD answer has no body: the caller knows what was looked for.
      const words = c === 'NAME_UNKNOWN' ? 'repository name not known to registry' : c === 'MANIFEST_UNKNOWN' ? 'manifest unknown' : c === 'BLOB_UNKNOWN' ? 'blob unknown' : 'not found';
      return new RegistryError(code ?? c, `${context}: ${words}`, status);
    }
    if (apiCode === 'DIGEST_INVALID') return new RegistryError(code ?? 'DIGEST_MISMATCH', `${context}: registry says the content does not match its digest`, status);
    if (apiCode === 'MANIFEST_INVALID' || apiCode === 'MANIFEST_BLOB_UNKNOWN') return new RegistryError(code ?? 'INVALID_MANIFEST', `${context}: ${text}${detail}`, status);
    return new RegistryError(code ?? 'SERVER', `${context}: ${text || `HTTP ${status}`}${detail}`, status);
  }
}

function registryErrorBody(body: Buffer): { code?: string; message?: string } {
  try {
    const v = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
    const e = v.errors?.[0];
    const out: { code?: string; message?: string } = {};
    if (typeof e?.code === 'string') out.code = e.code;
    if (typeof e?.message === 'string') out.message = e.message.slice(0, 200);
    return out;
  } catch {
    return {};
  }
}

function sameAlgorithm(a: string, b: string): boolean {
  return a.slice(0, a.indexOf(':')) === b.slice(0, b.indexOf(':'));
}

/**
 * Re-slices a byte stream into fixed-size chunks, alternating between two buffers: a chunk stays
 * intact while the caller sends it and the next one is being filled.
 */
async function* chunks(source: AsyncIterable<Buffer> | Iterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let which = 0;
  let buf = buffers[0]!;
  let n = 0;
  for await (const c of source) {
    let off = 0;
    while (off < c.length) {
      const k = Math.min(size - n, c.length - off);
      c.copy(buf, n, off, off + k);
      n += k;
      off += k;
      if (n === size) {
        yield buf;
        which ^= 1;
        buf = buffers[which]!;
        n = 0;
      }
    }
  }
  if (n > 0) yield buf.subarray(0, n);
}


async function readSmall(stream: Readable): Promise<Buffer> {
  try {
    return await readBounded(stream, 64 * 1024, 'error body');
  } catch {
    return Buffer.alloc(0);
  }
}
