import { createHash } from 'node:crypto';
import type { CheckReport } from '../host/check.js';
import { type HostIndex, loadOrScan } from '../host/host-index.js';
import { checkSpecText, type RunEnvironment } from './check-spec.js';
import type { SpecFlags } from './find-spec.js';
import { specSource } from './source-rule.js';
import { readSpecBytes } from './spec.js';

export { type SpecSource, specSource } from './source-rule.js';

/** Spec text, wherever it came from, with what names it in messages and caches. */
export interface LoadedSpec {
  text: string;
  /** sha256 of a file's bytes, or the compat artifact's manifest digest. */
  digest: string;
  /** The argument as given, for messages. */
  source: string;
}

/** A file's text, or a reference's spec fetched through the store (an image's through its referrers). */
export async function loadSpecText(arg: string, flags: SpecFlags = {}, signal?: AbortSignal): Promise<LoadedSpec> {
  const src = specSource(arg, flags);
  if (src.kind === 'reference') {
    const { fetchSpecText } = await import('./find-spec.js');
    const { text, digest } = await fetchSpecText(src.reference, flags, signal);
    return { text, digest, source: arg };
  }
  const bytes = readSpecBytes(src.path);
  return { text: bytes.toString('utf8'), digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, source: arg };
}

export interface CheckTargetOptions {
  flags?: SpecFlags;
  /** The node's index; scanned (or loaded from its cache) with `extraDirs` when not given. */
  index?: HostIndex;
  extraDirs?: string[];
  /** A root file system checked as if it were the node's `/` (its own index). */
  root?: string;
  /** LD_LIBRARY_PATH as the application will run with it. */
  ldLibraryPath?: string;
  env?: RunEnvironment;
}

/** Fetch → index → check: the path of `check`, the fast entry and `host labels`. */
export async function checkTarget(arg: string, opts: CheckTargetOptions = {}): Promise<{ report: CheckReport; loaded: LoadedSpec }> {
  const loaded = await loadSpecText(arg, opts.flags);
  const index = opts.index ?? loadOrScan({ extraDirs: opts.extraDirs, root: opts.root }).index;
  const { report } = checkSpecText(loaded.text, loaded.source, index, opts.ldLibraryPath, opts.env);
  return { report, loaded };
}
