import { SpecError } from './errors.js';
import type { CompatSpec } from './spec-types.js';

/** The seed prototype's format: `{"version": "0.0.1", "attributes": {"llnl.compatlib.*": …}}`. */
export interface LegacySpec {
  version: string;
  attributes: Record<string, string>;
}

export const LEGACY_EXECUTABLE = 'llnl.compatlib.executable-name';
export const LEGACY_LIBRARY = 'llnl.compatlib.library-name.';

export function isLegacy(doc: unknown): boolean {
  return doc !== null && typeof doc === 'object' && !Array.isArray(doc) && !('schemaVersion' in doc) && 'version' in doc && 'attributes' in doc;
}

/** The seed's attributes for one executable and the sonames it loads, in load order. */
export function legacyAttributes(executable: string, sonames: string[]): Record<string, string> {
  const out: Record<string, string> = { [LEGACY_EXECUTABLE]: executable };
  sonames.forEach((s, i) => (out[`${LEGACY_LIBRARY}${i}`] = s));
  return out;
}

/**
 * The legacy format names only sonames: it becomes one executable of the node's own platform that
 * needs each of them, with no symbol versions (it never recorded any).
 */
export interface LegacyPlatform {
  machine: string;
  class: 32 | 64;
  interpreter?: string;
}

export function fromLegacy(doc: LegacySpec, source: string, platform: LegacyPlatform = { machine: 'x86_64', class: 64 }): CompatSpec {
  const attrs = doc.attributes;
  if (typeof doc.version !== 'string' || attrs === null || typeof attrs !== 'object' || Array.isArray(attrs)) throw new SpecError(source, 'legacy spec needs a string "version" and an object "attributes"');
  for (const [k, v] of Object.entries(attrs)) if (typeof v !== 'string') throw new SpecError(source, `legacy attribute ${k} must be a string`);
  const exe = attrs[LEGACY_EXECUTABLE];
  if (!exe) throw new SpecError(source, `legacy spec has no ${LEGACY_EXECUTABLE} attribute`);
  const libs = Object.keys(attrs)
    .filter((k) => k.startsWith(LEGACY_LIBRARY))
    .sort((a, b) => Number(a.slice(LEGACY_LIBRARY.length)) - Number(b.slice(LEGACY_LIBRARY.length)))
    .map((k) => attrs[k]!);
  return {
    schemaVersion: 1,
    kind: 'binary',
    name: exe,
    platform: { os: 'linux', architecture: platform.machine, machine: platform.machine },
    binaries: [
      {
        path: exe,
        type: 'executable',
        linkage: 'dynamic',
        machine: platform.machine,
        class: platform.class,
        ...(platform.interpreter ? { interpreter: platform.interpreter } : {}),
        needed: libs.map((soname) => ({ soname, versions: [] })),
      },
    ],
    attributes: { ...attrs },
  };
}
