import type { PlatformSpec } from '../registry/platform.js';
import type { Descriptor, ImageIndex, Manifest } from '../registry/target.js';
import { SpecError } from './errors.js';
import type { RegistryFlags } from './targets.js';
import { classify } from './pack.js';
import { MEDIA_TYPES } from './spec.js';
import { storeFor } from './store.js';
import { locate, splitLayoutRef, type Located } from './targets.js';

/** The registry flags, and which platform of an index to look at. */
export interface SpecFlags extends RegistryFlags {
  /** `os/arch[/variant]` for an image index (default: this node's). */
  platform?: string;
}

export interface FetchedSpec {
  text: string;
  /** The compat artifact's manifest digest (what verdicts are cached by). */
  digest: string;
  /** The manifest whose referrer it is, when the reference named an image or an index. */
  subject?: Descriptor;
}

async function registry() {
  return import('../registry/index.js');
}

/**
 * The spec a reference names. A compat artifact is pulled through the node's store as it always
 * was. An image or an index is not pulled (its layers are no business of a check): its referrers
 * are, and the newest compat artifact among them is what gets pulled. For an index, the manifest
 * of `flags.platform` (default: this node's) is asked first, then the index itself.
 */
export async function fetchSpecText(ref: string, flags: SpecFlags = {}, signal?: AbortSignal): Promise<FetchedSpec> {
  const { parsePlatform, hostPlatform } = await registry();
  const { fetchSpecFromRegistry } = await import('./transfer.js');
  const opts = signal ? { ...flags, signal } : flags;
  const want = flags.platform !== undefined ? parsePlatform(flags.platform) : hostPlatform();
  const located = await locate(ref, opts);
  const peeked = located.reference ? await peek(located) : undefined;
  // Unreachable (the store may answer), no tag, or not a manifest that has referrers we look at.
  if (!peeked || !['compat', 'image', 'index'].includes(kindOf(peeked.manifest))) return fetchSpecFromRegistry(ref, opts);
  const pinned = (digest: string) => fetchSpecFromRegistry(pinnedReference(located, digest), opts);
  if (kindOf(peeked.manifest) === 'compat') {
    const spec = await pinned(peeked.descriptor.digest);
    await keepTag(located, peeked.descriptor);
    return spec;
  }
  for (const subject of await subjectsOf(peeked, want)) {
    const [newest] = await (await registry()).referrersNewestFirst(located.target, subject, MEDIA_TYPES.artifact);
    if (newest) return { ...(await pinned(newest.digest)), subject };
  }
  throw new SpecError(ref, await noneFound(peeked, want));
}

/** An index is known by its shape too: OCI makes its `mediaType` field optional. */
function kindOf(m: Manifest): string {
  return Array.isArray((m as ImageIndex).manifests) ? 'index' : classify(m);
}

interface Peeked {
  descriptor: Descriptor;
  manifest: Manifest;
}

/**
 * What the reference names, without pulling it: the manifest is read from the node's store when
 * it is there (a digest pinned in the store needs no registry at all), else from the target.
 * Undefined when the registry does not answer, so the store can answer for a pulled tag.
 */
async function peek(located: Located): Promise<Peeked | undefined> {
  const { fetchManifest, isDigest } = await registry();
  const reference = located.reference!;
  const store = located.repository ? await storeFor(located.repository) : undefined;
  if (store && isDigest(reference)) {
    const local = await fetchManifest(store, reference).catch(() => undefined);
    if (local) return local;
  }
  let descriptor: Descriptor;
  try {
    descriptor = await located.target.resolve(reference);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (store && (code === 'NETWORK' || code === 'TIMEOUT')) return undefined;
    throw e;
  }
  const local = store ? await fetchManifest(store, descriptor.digest).catch(() => undefined) : undefined;
  return local ?? fetchManifest(located.target, descriptor.digest);
}

/** The same repository (or layout) at a digest: `host/repo@sha256:…`, `DIR@sha256:…`. */
function pinnedReference(located: Located, digest: string): string {
  if (located.repository) return `${located.repository.registry}/${located.repository.repository}@${digest}`;
  return `${splitLayoutRef(located.label).dir}@${digest}`;
}

/** The store keeps the tag as a pull would, so the node still checks it with the registry down. */
async function keepTag(located: Located, descriptor: Descriptor): Promise<void> {
  const { isDigest } = await registry();
  if (!located.repository || !located.reference || isDigest(located.reference)) return;
  await (await storeFor(located.repository)).tag(descriptor, located.reference);
}

/** Whose referrers to ask, in order: an image's own; an index's platform manifest's, then the index's. */
async function subjectsOf(peeked: Peeked, want: PlatformSpec): Promise<Descriptor[]> {
  if (kindOf(peeked.manifest) !== 'index') return [peeked.descriptor];
  const { selectPlatform } = await registry();
  const child = selectPlatform(peeked.manifest as ImageIndex, want);
  return child ? [child, peeked.descriptor] : [peeked.descriptor];
}

async function noneFound(peeked: Peeked, want: PlatformSpec): Promise<string> {
  const { formatPlatform, selectPlatform } = await registry();
  const what = `compat artifact (${MEDIA_TYPES.artifact})`;
  const digest = peeked.descriptor.digest;
  if (kindOf(peeked.manifest) !== 'index') return `image ${digest} has no ${what} among its referrers`;
  const platform = formatPlatform(want);
  const child = selectPlatform(peeked.manifest as ImageIndex, want);
  if (!child) return `index ${digest} lists no ${platform} manifest, and has no ${what} among its referrers`;
  return `neither the ${platform} manifest ${child.digest} nor the index ${digest} has a ${what} among its referrers`;
}
