import { fetchManifest } from './content.js';
import { RegistryError } from './errors.js';
import { artifactTypeOf } from './manifest.js';
import { Annotation } from './media-types.js';
import type { Descriptor, ImageManifest, Manifest, Target } from './target.js';

/** One tag of a repository and what it holds. */
export interface TaggedManifest {
  tag: string;
  descriptor: Descriptor;
  manifest: Manifest;
  artifactType?: string;
  /** The manifest, its config and its layers (an index counts its own bytes only). */
  size: number;
  created?: string;
}

/** Every tag of `target` that `filter` keeps, with its manifest, read `concurrency` at a time; sorted by tag. */
export async function listTagged(target: Target, opts: { concurrency?: number; filter?: (tag: string) => boolean } = {}): Promise<TaggedManifest[]> {
  const tags = (await target.tags()).filter(opts.filter ?? (() => true));
  const rows: TaggedManifest[] = [];
  const limit = Math.max(1, opts.concurrency ?? 8);
  let next = 0;
  const worker = async () => {
    while (next < tags.length) {
      const tag = tags[next++]!;
      const { descriptor, manifest } = await fetchManifest(target, tag);
      const m = manifest as ImageManifest;
      const size = descriptor.size + (m.config?.size ?? 0) + (m.layers ?? []).reduce((a, l) => a + l.size, 0);
      const artifactType = artifactTypeOf(manifest);
      const created = manifest.annotations?.[Annotation.Created];
      rows.push({ tag, descriptor, manifest, ...(artifactType ? { artifactType } : {}), size, ...(created ? { created } : {}) });
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tags.length) }, worker));
  return rows.sort((a, b) => a.tag.localeCompare(b.tag));
}

/** One referrer of a subject, its annotations completed from its manifest when the listing lacked them. */
export interface ReferrerInfo {
  descriptor: Descriptor;
  artifactType?: string;
  created?: string;
  annotations: Record<string, string>;
}

/** A referrer with its own referrers, as deep as asked. */
export interface ReferrerNode extends ReferrerInfo {
  referrers: ReferrerNode[];
}

/** Most referrers walked for one tree: a registry that makes up referrers forever is stopped. */
export const MAX_REFERRER_NODES = 10_000;


/**
 * The referrers of `subject`, newest first (`org.opencontainers.image.created`); a failing
 * referrers call is an error, never an empty list.
 */
export async function referrersOf(target: Target, subject: Descriptor, opts: { artifactType?: string } = {}): Promise<ReferrerInfo[]> {
  const list = await target.referrers(subject, opts.artifactType);
  const out: ReferrerInfo[] = [];
  for (const d of list) {
    let annotations = d.annotations ?? {};
    let artifactType = d.artifactType;
    if (!annotations[Annotation.Created] || !artifactType) {
      const { manifest } = await fetchManifest(target, d.digest);
      annotations = { ...manifest.annotations, ...annotations };
      artifactType ??= artifactTypeOf(manifest);
    }
    const created = annotations[Annotation.Created];
    out.push({ descriptor: d, ...(artifactType ? { artifactType } : {}), ...(created ? { created } : {}), annotations });
  }
  return out.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
}

/**
 * The referrers of `subject`, and theirs, down to `depth` levels (unbounded when undefined); a
 * digest already in the tree is not walked again (no loop), and at most MAX_REFERRER_NODES are.
 */
export async function referrerTree(target: Target, subject: Descriptor, opts: { artifactType?: string; depth?: number } = {}): Promise<ReferrerNode[]> {
  const seen = new Set([subject.digest]);
  const walk = async (d: Descriptor, level: number): Promise<ReferrerNode[]> => {
    if (opts.depth !== undefined && level > opts.depth) return [];
    const nodes: ReferrerNode[] = [];
    for (const r of await referrersOf(target, d, opts)) {
      if (seen.has(r.descriptor.digest)) continue;
      seen.add(r.descriptor.digest);
      if (seen.size > MAX_REFERRER_NODES) throw new RegistryError('TOO_LARGE', `${target.name}@${subject.digest}: more than ${MAX_REFERRER_NODES} referrers in its tree`);
      nodes.push({ ...r, referrers: await walk(r.descriptor, level + 1) });
    }
    return nodes;
  };
  return walk(subject, 1);
}
