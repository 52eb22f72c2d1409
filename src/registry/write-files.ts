import { mkdirSync, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fetchToFile } from './content.js';
import { RegistryError } from './errors.js';
import { applyMoves, checkLinks, planMerge } from './merge-tree.js';
import { Annotation, MediaType } from './media-types.js';
import { EntryError, normalizeEntryPath, StagedTree } from './staged-tree.js';
import type { Descriptor, Manifest, Target } from './target.js';
import { extractInto } from './untar.js';

/** ORAS's mark on a layer that is a directory packed as tar+gzip. */
export const UNPACK_ANNOTATION = 'io.deis.oras.content.unpack';

export interface WrittenFiles {
  /** The titled layers, written under DIR at their titles. */
  files: Array<{ title: string; descriptor: Descriptor }>;
  /** Layers without a title: ORAS writes none of them, and neither does this. */
  untitled: Descriptor[];
}

export interface WriteFilesOptions {
  /** Name prefix of the staging directory (a leftover is then recognisable as the caller's). */
  stagingPrefix?: string;
}

interface FileLayer {
  descriptor: Descriptor;
  /** The title, normalised: where the layer lands under DIR. */
  path: string;
  title: string;
  unpack: boolean;
}

/**
 * `pull -o DIR`: writes a pulled artifact's titled layers into DIR (which must exist), as ORAS
 * does (a layer marked `io.deis.oras.content.unpack` is a directory packed as tar+gzip).
 * Everything is written first into a private staging directory beside DIR, checked there on disk,
 * and only then moved in; a refusal names `label` (the reference) and the entry and leaves DIR as
 * it was.
 */
export async function writeArtifactFiles(source: Target, manifest: Manifest, dir: string, label: string, opts: WriteFilesOptions = {}): Promise<WrittenFiles> {
  if (!('layers' in manifest)) throw new RegistryError('UNSUPPORTED', `${label}: is an index, not an artifact with files`);
  const layers = refused(label, () => fileLayers(manifest.layers));
  const out = resolve(dir);
  const real = realpathSync(out);
  const staging = makeStaging(real, out, opts.stagingPrefix ?? '.pull-');
  try {
    await refusedAsync(label, () => stageAndMerge(source, layers, staging, real));
    return { files: layers.map((l) => ({ title: l.title, descriptor: l.descriptor })), untitled: manifest.layers.filter((d) => d.annotations?.[Annotation.Title] === undefined) };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The layers that carry a title; a title that is absolute, climbs with `..`, or repeats another is refused. */
function fileLayers(layers: Descriptor[]): FileLayer[] {
  const seen = new Set<string>();
  const out: FileLayer[] = [];
  for (const d of layers) {
    const title = d.annotations?.[Annotation.Title];
    if (title === undefined) continue;
    const path = normalizeEntryPath(title);
    if (seen.has(path)) throw new EntryError(title, 'another layer has the same title');
    seen.add(path);
    out.push({ descriptor: d, path, title, unpack: d.annotations?.[UNPACK_ANNOTATION] === 'true' || d.mediaType === MediaType.OciLayerGzip });
  }
  return out;
}

async function stageAndMerge(store: Target, layers: FileLayer[], staging: string, dir: string): Promise<void> {
  const tree = new StagedTree(join(staging, 'tree'));
  const blobs = join(staging, 'blobs');
  mkdirSync(tree.root);
  mkdirSync(blobs);
  for (const [i, l] of layers.entries()) {
    const blob = join(blobs, String(i));
    await fetchToFile(store, l.descriptor, blob);
    if (l.unpack) {
      await extractInto(tree, blob, l.path);
      rmSync(blob, { force: true });
    } else tree.place(l.path, blob, l.title);
  }
  const moves = planMerge(tree, dir);
  checkLinks(tree, dir);
  applyMoves(moves, dir);
}

/**
 * A private directory (mkdtemp: mode 0700) beside DIR, on DIR's file system so that moving in is a
 * rename. Inside DIR only when DIR is a mount point or its parent cannot be written.
 */
function makeStaging(real: string, named: string, prefix: string): string {
  const parent = dirname(real);
  if (parent !== real && statSync(parent).dev === statSync(real).dev) {
    try {
      return mkdtempSync(join(parent, prefix));
    } catch (e) {
      if (!['EACCES', 'EPERM', 'EROFS'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
  }
  try {
    return mkdtempSync(join(real, prefix));
  } catch (e) {
    throw new RegistryError('OUTPUT', `${named}: cannot write there: ${(e as Error).message}`);
  }
}

function refused<T>(label: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw asRefusal(label, e);
  }
}

async function refusedAsync<T>(label: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw asRefusal(label, e);
  }
}

/** An entry refusal becomes one line naming the reference; anything else passes as it is. */
function asRefusal(label: string, e: unknown): unknown {
  return e instanceof EntryError ? new RegistryError('REFUSED', `${label}: ${e.message}`) : e;
}
