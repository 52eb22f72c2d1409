import { readFileSync } from 'node:fs';
import type { AppBinary } from '../host/app.js';
import { SpecError } from './errors.js';
import { validate as validateGenerated } from './spec-validator.generated.js';
import { fromLegacy, isLegacy, type LegacySpec } from './legacy.js';

export { SpecError };

export const MEDIA_TYPES = {
  artifact: 'application/vnd.compspec.compat.v1',
  spec: 'application/vnd.compspec.compat.spec.v1+json',
  legacy: 'application/org.supercontainers.compspec',
  nfd: 'application/vnd.nfd.image-compatibility.v1alpha1',
} as const;

export const ANNOTATIONS = {
  name: 'io.compspec.compat.name',
  platform: 'io.compspec.compat.platform',
} as const;

export type SpecBinary = AppBinary;

export interface CompatSpec {
  schemaVersion: 1;
  kind: 'binary' | 'directory' | 'rootfs';
  name?: string;
  created?: string;
  platform: { os: string; architecture: string; machine?: string; glibc?: string };
  binaries: SpecBinary[];
  attributes: Record<string, string>;
}

type Validator = ((doc: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string }> | null };
const validator = validateGenerated as Validator;

/** The schema in manifests/ is the single definition of the format; the build compiles it ahead of time. */
function validate(doc: unknown): string | undefined {
  if (validator(doc)) return undefined;
  const e = validator.errors?.[0];
  return e ? `${e.instancePath || '(top level)'} ${e.message ?? 'is invalid'}` : 'is invalid';
}

export interface ParseOptions {
  /** Machine and class to assume for the legacy format, which records none (the node's own). */
  legacyPlatform?: { machine: string; class: 32 | 64; interpreter?: string };
}

/** A compat spec (or the seed prototype's `{version, attributes}`) from JSON text, validated. */
export function parseSpec(text: string, source: string, opts: ParseOptions = {}): CompatSpec {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SpecError(source, `not valid JSON (${(e as Error).message})`);
  }
  if (isLegacy(doc)) return fromLegacy(doc as LegacySpec, source, opts.legacyPlatform);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new SpecError(source, 'not a compat spec (expected a JSON object)');
  if (!('schemaVersion' in doc)) throw new SpecError(source, 'not a compat spec (no schemaVersion, and not the legacy {version, attributes} format)');
  const problem = validate(doc);
  if (problem) throw new SpecError(source, `invalid compat spec: ${problem}`);
  return doc as CompatSpec;
}

/** A file the user named as input, or a one-line SpecError naming it and what is wrong. */
export function readInputFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SpecError(path, code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, expected a spec file' : code === 'EACCES' ? 'permission denied' : (e as Error).message);
  }
}

export function readSpecFile(path: string, opts: ParseOptions = {}): CompatSpec {
  return parseSpec(readInputFile(path).toString('utf8'), path, opts);
}

/** OCI architecture names (as image indexes use them) for ELF machine names. */
export function ociArchitecture(machine: string, cls: 32 | 64): string {
  const map: Record<string, string> = { x86_64: 'amd64', i386: '386', aarch64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390: 's390x', riscv: 'riscv64', loongarch: 'loong64' };
  return map[machine] ?? (cls === 64 ? `${machine}` : machine);
}
