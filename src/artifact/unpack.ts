import { mkdirSync, mkdtempSync, realpathSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { makeDirs } from '../host/make-dirs.js';
import type { Descriptor, Manifest, Target } from '../registry/target.js';
import { SpecError } from './errors.js';
import { applyMoves, checkLinks, planMerge } from './merge-tree.js';
import { EntryError, normalizeEntryPath, StagedTree } from './staged-tree.js';
import { extractInto } from './untar.js';

const TITLE = 'org.opencontainers.image.title';
const UNPACK = 'io.deis.oras.content.unpack';
const TAR_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

interface FileLayer {
  descriptor: Descriptor;
  /** The title, normalised: where the layer lands under DIR. */
  path: string;
  title: string;
  unpack: boolean;
}

/**
 * `pull -o DIR`: writes a pulled artifact's titled layers into DIR, as ORAS does (a layer marked
 * `io.deis.oras.content.unpack` is a directory packed as tar+gzip). Everything is written first
 * into a private staging directory beside DIR, checked there on disk, and only then moved in; a
 * refusal names the reference and the entry and leaves DIR as it was.
 */
export async function writeArtifactFiles(store: Target, manifest: Manifest, dir: string, ref: string): Promise<string[]> {
  if (!('layers' in manifest)) throw new SpecError(ref, 'is an index, not an artifact with files');
  const layers = refused(ref, () => fileLayers(manifest.layers));
  const out = resolve(dir);
  const made = makeDirs(out);
  const real = realpathSync(out);
  const staging = makeStaging(real, out);
  let done = false;
  try {
    await refusedAsync(ref, () => stageAndMerge(store, layers, staging, real));
    done = true;
    return layers.map((l) => l.title);
  } finally {
    rmSync(staging, { recursive: true, force: true });
    if (!done && made) removeMadeDirs(out, made);
  }
}

/** The layers that carry a title; a title that is absolute, climbs with `..`, or repeats another is refused. */
function fileLayers(layers: Descriptor[]): FileLayer[] {
  const seen = new Set<string>();
  const out: FileLayer[] = [];
  for (const d of layers) {
    const title = d.annotations?.[TITLE];
    if (title === undefined) continue;
    const path = normalizeEntryPath(title);
    if (seen.has(path)) throw new EntryError(title, 'another layer has the same title');
    seen.add(path);
    out.push({ descriptor: d, path, title, unpack: d.annotations?.[UNPACK] === 'true' || d.mediaType === TAR_GZIP });
  }
  return out;
}

async function stageAndMerge(store: Target, layers: FileLayer[], staging: string, dir: string): Promise<void> {
  const { fetchToFile } = await import('../registry/index.js');
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
function makeStaging(real: string, named: string): string {
  const parent = dirname(real);
  if (parent !== real && statSync(parent).dev === statSync(real).dev) {
    try {
      return mkdtempSync(join(parent, '.compat-pull-'));
    } catch (e) {
      if (!['EACCES', 'EPERM', 'EROFS'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
  }
  try {
    return mkdtempSync(join(real, '.compat-pull-'));
  } catch (e) {
    throw new SpecError(named, `cannot write there: ${(e as Error).message}`);
  }
}

/** Undoes makeDirs after a refusal: the directories it made, innermost first, while they are empty. */
function removeMadeDirs(out: string, made: string): void {
  for (let p = out; ; p = dirname(p)) {
    try {
      rmdirSync(p);
    } catch {
      return;
    }
    if (p === made || dirname(p) === p) return;
  }
}

function refused<T>(ref: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw asSpecError(ref, e);
  }
}

async function refusedAsync<T>(ref: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw asSpecError(ref, e);
  }
}

/** An entry refusal becomes compat's one line naming the reference; anything else passes as it is. */
function asSpecError(ref: string, e: unknown): unknown {
  return e instanceof EntryError ? new SpecError(ref, e.message) : e;
}
