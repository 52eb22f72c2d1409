import { fetchBytes } from './content.js';
import { RegistryError } from './errors.js';
import { manifestChildren, parseManifest } from './manifest.js';
import { isManifestType } from './media-types.js';
import { isDigest } from './digest.js';
import { type Descriptor, isBlobMounter, type ProgressCallback, type Target } from './target.js';

export type CopyEventType = 'exists' | 'mounted' | 'start' | 'copied';
export interface CopyEvent {
  type: CopyEventType;
  descriptor: Descriptor;
}

export interface CopyOptions {
  /** Blobs transferred at the same time (default 3). */
  concurrency?: number;
  /** Bytes moved per blob: for progress bars. */
  onProgress?: ProgressCallback;
  /** One event per node: already there, mounted, started, copied. */
  onEvent?: (e: CopyEvent) => void;
  /** Try cross-repository mounts between repositories of one registry (default true). */
  mount?: boolean;
}

/**
 * Copies the manifest graph named by `srcRef` (manifest, config, layers, index children) from
 * `src` to `dst`, children before parents so a registry never sees a manifest whose blobs are
 * missing, and tags the root as `dstRef` (a tag) when given. A node the destination already has is
 * skipped with everything under it. Returns the root's descriptor.
 */
export async function copy(src: Target, srcRef: string, dst: Target, dstRef?: string, opts: CopyOptions = {}): Promise<Descriptor> {
  const root = await src.resolve(srcRef);
  await copyGraph(src, root, dst, dstRef, opts);
  return root;
}

/** Copies the graph under a descriptor already known (e.g. one entry of a referrers list). */
export async function copyGraph(src: Target, root: Descriptor, dst: Target, dstRef: string | undefined, opts: CopyOptions = {}): Promise<void> {
  if (dstRef !== undefined && isDigest(dstRef) && dstRef !== root.digest) {
    throw new RegistryError('DIGEST_MISMATCH', `${dst.name}@${dstRef}: cannot copy ${root.digest} to another digest`);
  }
  const limit = semaphore(Math.max(1, opts.concurrency ?? 3));
  const done = new Map<string, Promise<void>>();
  const emit = (type: CopyEventType, descriptor: Descriptor) => opts.onEvent?.({ type, descriptor });

  const mountFrom = opts.mount !== false ? mountSource(src, dst) : undefined;

  const copyBlob = (desc: Descriptor) =>
    limit(async () => {
      if (await dst.exists(desc)) return emit('exists', desc);
      if (mountFrom && (await mountFrom(desc))) return emit('mounted', desc);
      emit('start', desc);
      const stream = await src.fetch(desc);
      await dst.push(desc, stream, opts.onProgress ? { onProgress: opts.onProgress } : {});
      emit('copied', desc);
    });

  // A manifest the destination has stands for its whole graph, which is not walked; a listener
  // (progress bars naming files) is still told, node by node, that each is there.
  const reported = new Set<string>();
  const reportPresent = async (desc: Descriptor, bytes?: Buffer): Promise<void> => {
    if (!opts.onEvent || reported.has(desc.digest)) return;
    reported.add(desc.digest);
    let children: Descriptor[];
    try {
      children = manifestChildren(parseManifest(bytes ?? (await fetchBytes(dst, desc)), `${dst.name}@${desc.digest}`));
    } catch {
      return; // only the report is lost: what the destination lacks is for its reader to repair
    }
    for (const c of children) {
      if (isManifestType(c.mediaType)) await reportPresent(c);
      emit('exists', c);
    }
  };

  const copyNode = (desc: Descriptor, tag?: string): Promise<void> => {
    const key = `${desc.digest}|${tag ?? ''}`;
    let p = done.get(key);
    if (!p) {
      p = isManifestType(desc.mediaType) ? copyManifest(desc, tag) : copyBlob(desc);
      done.set(key, p);
    }
    return p;
  };

  const copyManifest = async (desc: Descriptor, tag?: string): Promise<void> => {
    const present = await dst.exists(desc);
    if (present && tag === undefined) {
      await reportPresent(desc);
      return emit('exists', desc);
    }
    const bytes = await fetchBytes(src, desc);
    if (present) await reportPresent(desc, bytes);
    if (!present) {
      const manifest = parseManifest(bytes, `${src.name}@${desc.digest}`);
      // allSettled: when one child fails, let the others finish or fail before reporting, so no
      // write is still running (and no temp file still present) once copy() has rejected.
      const results = await Promise.allSettled(manifestChildren(manifest).map((c) => copyNode(c)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      emit('start', desc);
    }
    if (tag !== undefined && !isDigest(tag)) await dst.pushReference(desc, bytes, tag);
    else await dst.push(desc, bytes);
    // Only new content moved: a manifest that was there is merely tagged again.
    if (!present) opts.onProgress?.({ descriptor: desc, bytes: bytes.length, total: desc.size });
    emit(present ? 'exists' : 'copied', desc);
  };

  await copyNode(root, dstRef);
}

/** How `dst` mounts a blob from `src`, when both are repositories of one registry. */
function mountSource(src: Target, dst: Target): ((desc: Descriptor) => Promise<boolean>) | undefined {
  if (!isBlobMounter(src) || !isBlobMounter(dst)) return undefined;
  if (src.mountDomain !== dst.mountDomain || src.repository === dst.repository) return undefined;
  return (desc) => dst.mount(desc, src.repository);
}

/** A tiny counting semaphore: at most `n` tasks run at once. */
function semaphore(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    // A released slot is handed straight to the next waiter, so `running` never exceeds n.
    if (running >= n) await new Promise<void>((resolve) => queue.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      const next = queue.shift();
      if (next) next();
      else running--;
    }
  };
}
