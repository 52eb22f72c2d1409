import type { CopyEvent } from '../registry/copy.js';
import type { ArtifactSummary } from '../registry/summary.js';
import type { Descriptor, ProgressCallback } from '../registry/target.js';
import type { RegistryFlags } from './fetch-spec.js';
import { SpecError } from './errors.js';
import { locate, type Located } from './targets.js';

/**
 * The ORAS verbs that only move or name manifests (cp, manifest fetch, resolve, tag): opening the
 * targets the command line names, then one call into the registry library.
 */

async function registry() {
  return import('../registry/index.js');
}

/** Tag or digest the command line named; a bare repository is refused for what needs one. */
function referenceOf(located: Located, what: string): string {
  if (located.reference) return located.reference;
  throw new SpecError(located.label, `name a tag or digest ${what}`);
}

/** `REPO:TAG`, `REPO@DIGEST`, `DIR:TAG`: how a reference reads once the tag or digest is known. */
function display(located: Located, reference: string | undefined, digest: string): string {
  const name = located.repository ? `${located.repository.registry}/${located.repository.repository}` : located.label.replace(/[:@][^/]*$/, '');
  if (reference === undefined || reference.startsWith('sha256:') || reference.startsWith('sha512:')) return `${name}@${digest}`;
  return `${name}:${reference}`;
}

export interface CopyFlags extends RegistryFlags {
  fromOciLayout?: boolean;
  toOciLayout?: boolean;
  recursive?: boolean;
  concurrency?: number;
  onProgress?: ProgressCallback;
  onEvent?: (e: CopyEvent) => void;
}

export interface CopyResult {
  /** The destination, with the tag it got (or its digest). */
  reference: string;
  descriptor: Descriptor;
  referrers: Descriptor[];
  /** What was copied, in the shape push, attach and pull print it. */
  summary: ArtifactSummary;
}

/**
 * `cp SRC DST [-r]`. A destination without a tag takes the source's tag (a source named by
 * digest is copied untagged, by digest). `-u/-p` are for the source's registry: a destination on
 * another registry uses its own stored credential, never the source's.
 */
export async function copyReference(src: string, dst: string, flags: CopyFlags = {}): Promise<CopyResult> {
  const { artifactSummary, copyWithReferrers, fetchManifest, isDigest } = await registry();
  const from = await locate(src, { ...flags, ociLayout: flags.fromOciLayout });
  const credentialHost = flags.credentialHost ?? from.repository?.registry;
  const to = await locate(dst, { ...flags, ociLayout: flags.toOciLayout, credentialHost });
  const srcRef = referenceOf(from, 'to copy');
  const dstRef = to.reference ?? (isDigest(srcRef) ? undefined : srcRef);
  const r = await copyWithReferrers(from.target, srcRef, to.target, dstRef, { concurrency: flags.concurrency, onProgress: flags.onProgress, onEvent: flags.onEvent, referrers: flags.recursive });
  const reference = display(to, dstRef, r.root.digest);
  // Read back from the destination: the summary describes what is there now.
  const { manifest } = await fetchManifest(to.target, r.root.digest);
  return { reference, descriptor: r.root, referrers: r.referrers, summary: artifactSummary(reference, r.root, manifest) };
}

/** `manifest fetch REF`: the manifest's exact bytes (bounded, verified) and its descriptor. */
export async function fetchManifestOf(ref: string, flags: RegistryFlags = {}): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
  const { fetchManifest } = await registry();
  const located = await locate(ref, flags);
  const { descriptor, bytes } = await fetchManifest(located.target, referenceOf(located, 'to fetch'));
  return { descriptor: { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size }, bytes };
}

/** `resolve REF`: the descriptor a tag or digest names. */
export async function resolveReference(ref: string, flags: RegistryFlags = {}): Promise<Descriptor> {
  const located = await locate(ref, flags);
  const d = await located.target.resolve(referenceOf(located, 'to resolve'));
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

/** The distribution spec's tag grammar. */
const TAG = /^[\w][\w.-]{0,127}$/;

/** `tag REF TAG…`: every tag is checked before the first is written. */
export async function tagReference(ref: string, tags: string[], flags: RegistryFlags = {}): Promise<Descriptor> {
  const { RegistryError } = await registry();
  const located = await locate(ref, flags);
  const bad = tags.find((t) => !TAG.test(t));
  if (bad !== undefined) throw new RegistryError('INVALID_REFERENCE', `${bad}: not a valid tag (tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`);
  const desc = await located.target.resolve(referenceOf(located, 'to tag'));
  for (const t of tags) await located.target.tag(desc, t);
  return desc;
}
