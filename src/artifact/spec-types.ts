import type { AppBinary } from '../host/app.js';

/** The compat spec's shape (manifests/ holds its JSON Schema); read and written by spec.ts. */
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
