import { fetchManifest } from './content.js';
import { type CopyEvent, copyGraph } from './copy.js';
import { isDigest } from './digest.js';
import { RegistryError } from './errors.js';
import { type Descriptor, type GraphRepairer, isGraphRepairer, type Manifest, type ProgressCallback, type Target } from './target.js';

export interface PullThroughOptions {
  concurrency?: number;
  onProgress?: ProgressCallback;
  /** What became of each node copied into the cache (copy()'s events). */
  onEvent?: (e: CopyEvent) => void;
  /**
   * When the source does not answer: `fallback` (default) reads a reference the cache already
   * holds, `never` fails.
   */
  offline?: 'fallback' | 'never';
}

export interface PulledThrough<T> {
  descriptor: Descriptor;
  manifest: Manifest;
  /** True when the cache already had it and nothing was fetched. */
  fromCache: boolean;
  value: T;
}

interface Resolved {
  descriptor: Descriptor;
  fromCache: boolean;
  /** The source did not answer: the cache is all there is. */
  offline: boolean;
}

/**
 * Brings `reference` of `source` into `cache` (skipping what is there; a digest the cache holds is
 * not fetched again), then runs `read` over the cache's copy. Content of the cache that is
 * missing or fails its digest is fetched again when the source answers (as cacache verifies on
 * read: the cache is only a copy of the source), and `read` runs once more. `cache` may be
 * `source` itself: then nothing is copied.
 */
export async function pullThrough<T>(source: Target, reference: string, cache: Target, read: (cache: Target, manifest: Manifest) => Promise<T>, opts: PullThroughOptions = {}): Promise<PulledThrough<T>> {
  const found = await resolveIntoCache(source, reference, cache, opts);
  const readAll = async () => {
    const { manifest } = await fetchManifest(cache, found.descriptor.digest);
    return { manifest, value: await read(cache, manifest) };
  };
  try {
    return { descriptor: found.descriptor, fromCache: found.fromCache, ...(await readAll()) };
  } catch (e) {
    if (cache === source || !isGraphRepairer(cache) || !brokenInCache(e) || found.offline) throw e;
    await restoreGraph(source, cache, found.descriptor, e as Error, { concurrency: opts.concurrency });
    return { descriptor: found.descriptor, fromCache: false, ...(await readAll()) };
  }
}

async function resolveIntoCache(source: Target, reference: string, cache: Target, opts: PullThroughOptions): Promise<Resolved> {
  if (isDigest(reference) && cache !== source) {
    const descriptor = await cache.resolve(reference).catch(() => undefined);
    if (descriptor) return { descriptor, fromCache: true, offline: false };
  }
  let descriptor: Descriptor;
  try {
    descriptor = await source.resolve(reference);
  } catch (e) {
    // Unreachable source: a reference already pulled still answers from the cache.
    const code = (e as { code?: string }).code;
    if (cache === source || opts.offline === 'never' || (code !== 'NETWORK' && code !== 'TIMEOUT')) throw e;
    descriptor = await cache.resolve(reference).catch(() => {
      throw e;
    });
    return { descriptor, fromCache: true, offline: true };
  }
  if (cache !== source) {
    const tag = isDigest(reference) ? undefined : reference;
    await copyGraph(source, descriptor, cache, tag, { concurrency: opts.concurrency, onProgress: opts.onProgress, onEvent: opts.onEvent });
  }
  return { descriptor, fromCache: false, offline: false };
}

/** Is this error content of the cache that is missing or fails its digest (something the source can put back)? */
export function brokenInCache(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code === 'DIGEST_MISMATCH' || code === 'SIZE_MISMATCH' || code === 'BLOB_UNKNOWN' || code === 'MANIFEST_UNKNOWN';
}

/**
 * Puts back, from `source`, every blob of `root`'s graph that the cache lacks or holds corrupted
 * (those are removed first: a blob that fails its digest can never become right). A corrupted
 * manifest hides its children, hence the rounds. When the source does not answer, the error names
 * the original problem and why it could not be repaired.
 */
export async function restoreGraph(source: Target, cache: Target & GraphRepairer, root: Descriptor, cause: Error, opts: { concurrency?: number } = {}): Promise<void> {
  for (let round = 0; round < 4; round++) {
    const broken = await cache.repairGraph(root);
    if (!broken.length) return;
    try {
      for (const d of broken) await copyGraph(source, d, cache, undefined, { concurrency: opts.concurrency });
    } catch (e) {
      throw new RegistryError('LAYOUT', `${cause.message}; fetching it again from ${source.name} failed: ${(e as Error).message}`);
    }
  }
  throw cause;
}
