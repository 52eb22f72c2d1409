import { fetchManifest } from './content.js';
import { artifactTypeOf } from './manifest.js';
import { Annotation } from './media-types.js';
import type { Descriptor, Target } from './target.js';

/**
 * The referrers of `subject` of one artifact type, newest first by
 * `org.opencontainers.image.created`. Ties (the same time, or no time) go to the smaller digest,
 * so every registry and every node picks the same one; an entry without a valid time sorts last.
 * An entry the referrers answer lists without its type or time is read from its manifest (older
 * pushers and some registries leave them out).
 */
export async function referrersNewestFirst(target: Target, subject: Descriptor, artifactType: string): Promise<Descriptor[]> {
  const listed = await target.referrers(subject);
  const out: Descriptor[] = [];
  for (const d of listed) {
    let entry = d;
    if (d.artifactType === undefined || (d.artifactType === artifactType && d.annotations?.[Annotation.Created] === undefined)) {
      const { manifest } = await fetchManifest(target, d.digest);
      const at = artifactTypeOf(manifest);
      entry = { ...d, ...(at ? { artifactType: at } : {}), annotations: { ...manifest.annotations, ...d.annotations } };
    }
    if (entry.artifactType === artifactType) out.push(entry);
  }
  return out.sort(newestFirst);
}

function createdAt(d: Descriptor): number {
  const t = Date.parse(d.annotations?.[Annotation.Created] ?? '');
  return Number.isNaN(t) ? -Infinity : t;
}

function newestFirst(a: Descriptor, b: Descriptor): number {
  const ta = createdAt(a);
  const tb = createdAt(b);
  if (ta !== tb) return tb > ta ? 1 : -1;
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}
