import type { AppBinary } from '../host/app.js';
import type { RootLoader } from '../host/root-loader.js';

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
  /** A root file system described from a container image (`gen --image`). */
  image?: { reference: string; digest: string; index?: string; platform?: string };
  /** kind rootfs: the root's own loader configuration. */
  loader?: RootLoader;
}
