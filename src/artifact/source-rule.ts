import { existsSync } from 'node:fs';

/** What a command's argument names: a spec file on this machine, or an artifact in a registry or layout. */
export type SpecSource = { kind: 'file'; path: string } | { kind: 'reference'; reference: string };

/**
 * The one "file or reference?" rule of check, the fast entry, host labels: with --oci-layout
 * everything is a reference; a path that exists, or one written as a path (`./`, `/`, `.json`),
 * is a file; otherwise `host/repo:tag` or `…@sha256:` shapes are references.
 */
export function specSource(arg: string, flags: { ociLayout?: boolean } = {}): SpecSource {
  if (flags.ociLayout || looksLikeReference(arg)) return { kind: 'reference', reference: arg };
  return { kind: 'file', path: arg };
}

function looksLikeReference(arg: string): boolean {
  if (existsSync(arg) || arg.startsWith('.') || arg.startsWith('/') || arg.endsWith('.json')) return false;
  return /^[^/\s]+(\/[^/\s]+)+([:@][^/\s]+)?$/.test(arg) && /[:@]/.test(arg);
}
