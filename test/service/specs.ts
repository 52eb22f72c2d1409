import { compat } from '../helpers/fixtures.js';

export interface SpecFixtures {
  /** `compat gen /usr/bin/xz` on this machine: compatible here by construction. */
  compatible: string;
  /** The same spec, also needing a soname no node has. */
  incompatible: string;
  /** The seed prototype's `{version, attributes}` format naming xz's libraries. */
  legacy: string;
  /** The legacy format naming a library no node has. */
  legacyMissing: string;
  missingSoname: string;
}

export const MISSING_SONAME = 'libcompat-serve-missing.so.7';

export function makeSpecs(env: Record<string, string>): SpecFixtures {
  const r = compat(['gen', '/usr/bin/xz'], { env });
  if (r.status !== 0) throw new Error(`compat gen /usr/bin/xz failed: ${r.stderr}`);
  const spec = JSON.parse(r.stdout) as { binaries: Array<{ needed: Array<{ soname: string; versions: string[] }> }> };
  const bad = structuredClone(spec);
  bad.binaries[0]!.needed.push({ soname: MISSING_SONAME, versions: [] });
  const legacy = { version: '0.0.1', attributes: { 'llnl.compatlib.executable-name': 'xz', 'llnl.compatlib.library-name.0': 'liblzma.so.5', 'llnl.compatlib.library-name.1': 'libc.so.6' } };
  const legacyMissing = { version: '0.0.1', attributes: { ...legacy.attributes, 'llnl.compatlib.library-name.2': MISSING_SONAME } };
  return {
    compatible: r.stdout,
    incompatible: JSON.stringify(bad),
    legacy: JSON.stringify(legacy),
    legacyMissing: JSON.stringify(legacyMissing),
    missingSoname: MISSING_SONAME,
  };
}

/** The spec with a different name: same verdict, another digest (defeats the verdict cache). */
export function renamed(specText: string, name: string): string {
  return JSON.stringify({ ...(JSON.parse(specText) as object), name });
}
