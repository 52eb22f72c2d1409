import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../host/atomic-file.js';
import type { SpecFlags } from './find-spec.js';
import type { HostIndex } from '../host/host-index.js';

/**
 * NFD accepts labels in `*.feature.node.kubernetes.io` without extra configuration of nfd-master,
 * so compat's labels live there and need no `-extra-label-ns`.
 */
export const LABEL_PREFIX = 'compat.feature.node.kubernetes.io/';
export const DEFAULT_FEATURE_FILE = '/etc/kubernetes/node-feature-discovery/features.d/compat';

/**
 * A Kubernetes label name (≤ 63 characters of [A-Za-z0-9._-], alphanumeric at both ends) for an
 * artifact reference: readable where it fits, with a short hash where it had to be cut.
 */
export function labelName(ref: string): string {
  const readable = ref
    .replace(/^[^/]*[.:][^/]*\//, '') // drop the registry host
    .replace(/@sha256:([0-9a-f]{12})[0-9a-f]*/, '.$1')
    .replace(/[^A-Za-z0-9._-]+/g, '.')
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  if (readable.length <= 63 && readable.length > 0) return readable;
  const hash = createHash('sha256').update(ref).digest('hex').slice(0, 8);
  return `${readable.slice(0, 54).replace(/[^A-Za-z0-9]+$/, '')}-${hash}`;
}

export interface LabelResult {
  reference: string;
  label: string;
  compatible: boolean;
  reasons: string[];
}

/** Checks each artifact against this node; every reference must resolve before any label is produced. */
export async function computeLabels(refs: string[], index: HostIndex, flags: SpecFlags, ldLibraryPath?: string): Promise<LabelResult[]> {
  const { checkTarget } = await import('./spec-source.js');
  const out: LabelResult[] = [];
  const names = new Map<string, string>();
  for (const ref of refs) {
    const { report } = await checkTarget(ref, { flags, index, ldLibraryPath });
    const label = `${LABEL_PREFIX}${labelName(ref)}`;
    const clash = names.get(label);
    if (clash && clash !== ref) throw new Error(`${ref}: its label ${label} would clash with ${clash}'s`);
    names.set(label, ref);
    out.push({ reference: ref, label, compatible: report.compatible, reasons: report.reasons.map((r) => r.message) });
  }
  return out;
}

export interface FeatureFileOptions {
  now?: Date;
  /** When NFD should drop the labels (compat stopped refreshing them); undefined: never. */
  expiresAt?: Date;
  /** What wrote the file, for the reader. */
  writer?: string;
}

/** RFC 3339 in UTC without fractions, as NFD's `# +expiry-time=` directive is documented. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A comment NFD cannot mistake for anything else: `# +` starts a directive (an unknown one fails
 * the whole file) and a line break would start a label line.
 */
function comment(text: string): string {
  return `# ${text.replace(/[\p{Cc}\u2028\u2029]/gu, '?').replace(/^\+/, '?')}`;
}

/**
 * The NFD local feature file: the expiry directive first (NFD applies it to the lines after it),
 * then `label=value` lines; other '#' lines are comments to NFD.
 */
export function renderFeatureFile(results: LabelResult[], opts: FeatureFileOptions = {}): string {
  const now = opts.now ?? new Date();
  const lines = opts.expiresAt ? [`# +expiry-time=${rfc3339(opts.expiresAt)}`] : [];
  lines.push(comment(`Written by ${opts.writer ?? 'compat host labels'} at ${rfc3339(now)}: one label per artifact, true when this node can run it.`));
  for (const r of results) lines.push(comment(r.reference), `${r.label}=${r.compatible}`);
  return `${lines.join('\n')}\n`;
}

/** The feature file, replaced atomically through a dot-file temp (nfd-worker skips dot-files), readable by all. */
export function writeFeatureFile(path: string, text: string): void {
  writeFileAtomic(path, text, { mode: 0o644 });
}
