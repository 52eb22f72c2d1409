import * as Flags from '@oclif/core/flags';
import type { RegistryFlags } from '../artifact/fetch-spec.js';

/** The flags every command that talks to a registry takes, as ORAS names them. */
export const registryFlags = {
  'oci-layout': Flags.boolean({ description: 'The reference names an OCI image layout directory (DIR[:tag|@digest]) instead of a registry.', helpGroup: 'REGISTRY' }),
  'plain-http': Flags.boolean({ description: 'Talk HTTP, not HTTPS.', helpGroup: 'REGISTRY' }),
  insecure: Flags.boolean({ description: 'Skip TLS certificate verification.', helpGroup: 'REGISTRY' }),
  'ca-file': Flags.string({ description: 'Trust this CA certificate (PEM).', helpGroup: 'REGISTRY' }),
  username: Flags.string({ char: 'u', description: 'Registry user (else the stored credential, docker or podman config).', env: 'COMPAT_USERNAME', helpGroup: 'REGISTRY' }),
  password: Flags.string({ char: 'p', description: 'Registry password (prefer COMPAT_PASSWORD or `compat login`).', env: 'COMPAT_PASSWORD', helpGroup: 'REGISTRY' }),
  concurrency: Flags.integer({ description: 'Blobs transferred at once.', default: 3, min: 1, max: 64, helpGroup: 'REGISTRY' }),
};

export function toRegistryFlags(f: { 'oci-layout'?: boolean; 'plain-http'?: boolean; insecure?: boolean; 'ca-file'?: string; username?: string; password?: string }): RegistryFlags {
  return { ociLayout: f['oci-layout'], plainHttp: f['plain-http'], insecure: f.insecure, caFile: f['ca-file'], username: f.username, password: f.password };
}
