import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { checkSpecText } from './check-spec.js';
import type { RegistryFlags } from './fetch-spec.js';
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
export async function computeLabels(refs: string[], index: HostIndex, flags: RegistryFlags, ldLibraryPath?: string): Promise<LabelResult[]> {
  const { fetchSpecText } = await import('./fetch-spec.js');
  const { readFileSync } = await import('node:fs');
  const out: LabelResult[] = [];
  const names = new Map<string, string>();
  for (const ref of refs) {
    const text = !flags.ociLayout && existsSync(ref) ? readFileSync(ref, 'utf8') : (await fetchSpecText(ref, flags)).text;
    const { report } = checkSpecText(text, ref, index, ldLibraryPath);
    const label = `${LABEL_PREFIX}${labelName(ref)}`;
    const clash = names.get(label);
    if (clash && clash !== ref) throw new Error(`${ref}: its label ${label} would clash with ${clash}'s`);
    names.set(label, ref);
    out.push({ reference: ref, label, compatible: report.compatible, reasons: report.reasons.map((r) => r.message) });
  }
  return out;
}

/** The NFD local feature file: `label=value` lines; '#' lines are comments to NFD. */
export function renderFeatureFile(results: LabelResult[], now = new Date()): string {
  const lines = [`# Written by compat host labels at ${now.toISOString()}: one label per artifact, true when this node can run it.`];
  for (const r of results) lines.push(`# ${r.reference}`, `${r.label}=${r.compatible}`);
  return `${lines.join('\n')}\n`;
}
