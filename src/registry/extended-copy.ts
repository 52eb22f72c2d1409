import { fetchManifest } from './content.js';
import { copyGraph, type CopyOptions } from './copy.js';
import { RegistryError } from './errors.js';
import { isIndex } from './manifest.js';
import { isManifestType } from './media-types.js';
import type { Descriptor, Target } from './target.js';

export interface ExtendedCopyOptions extends CopyOptions {
  /** Also copy the referrers of the root and of an index's manifests, and theirs, recursively. */
  referrers?: boolean;
  /** Most referrers copied in all (default 10,000): more is an error, not a partial copy. */
  maxReferrers?: number;
}

export interface ExtendedCopyResult {
  root: Descriptor;
  /** The referrers copied (with -r), in the order they were. */
  referrers: Descriptor[];
}

/**
 * `cp [-r]`: the graph named by `srcRef`, tagged `dstRef` at the destination when given; with
 * `referrers`, every manifest whose subject is in the copied graph too, after its subject (a
 * registry keeps the referrers index of a subject it has), recursively. What skopeo cannot do:
 * promote an image together with the artifacts attached to it.
 */
export async function copyWithReferrers(src: Target, srcRef: string, dst: Target, dstRef: string | undefined, opts: ExtendedCopyOptions = {}): Promise<ExtendedCopyResult> {
  const root = await src.resolve(srcRef);
  await copyGraph(src, root, dst, dstRef, opts);
  const copied: Descriptor[] = [];
  if (!opts.referrers) return { root, referrers: copied };
  const max = opts.maxReferrers ?? 10_000;
  const seen = new Set<string>([root.digest]);
  const queue: Descriptor[] = await subjectsIn(src, root);
  while (queue.length) {
    const subject = queue.shift()!;
    for (const r of await src.referrers(subject)) {
      if (seen.has(r.digest)) continue;
      seen.add(r.digest);
      if (copied.length >= max) throw new RegistryError('TOO_LARGE', `${src.name}@${root.digest}: more than ${max} referrers: refused rather than copied in part`);
      await copyGraph(src, r, dst, undefined, opts);
      copied.push(r);
      queue.push(...(await subjectsIn(src, r)));
    }
  }
  return { root, referrers: copied };
}

/** The manifests of a graph that may have referrers: the root and, for an index, its manifests. */
async function subjectsIn(src: Target, root: Descriptor): Promise<Descriptor[]> {
  if (!isManifestType(root.mediaType)) return [];
  const { manifest } = await fetchManifest(src, root.digest);
  return isIndex(manifest) ? [root, ...manifest.manifests.filter((d) => isManifestType(d.mediaType))] : [root];
}
