import * as Flags from '@oclif/core/flags';
import type { RegistryFlags } from '../artifact/fetch-spec.js';

/** The flags every command that talks to a registry takes, as ORAS names them. */
export const registryFlags = {
  'oci-layout': Flags.boolean({ description: 'The reference names an OCI image layout directory (DIR[:tag|@digest]) instead of a registry.', helpGroup: 'REGISTRY' }),
  'plain-http': Flags.boolean({ allowNo: true, description: 'Talk HTTP, not HTTPS. Unset, only localhost[:PORT] talks HTTP (as ORAS); --plain-http=false means TLS there too.', helpGroup: 'REGISTRY' }),
  insecure: Flags.boolean({ description: 'Skip TLS certificate verification.', helpGroup: 'REGISTRY' }),
  'ca-file': Flags.string({ description: 'Also trust the CA certificates in this PEM file (beside the defaults and NODE_EXTRA_CA_CERTS).', helpGroup: 'REGISTRY' }),
  'cert-file': Flags.string({ description: 'Client certificate (PEM) for registries that ask for one (mTLS); with --key-file.', dependsOn: ['key-file'], helpGroup: 'REGISTRY' }),
  'key-file': Flags.string({ description: 'Private key (PEM) of --cert-file.', dependsOn: ['cert-file'], helpGroup: 'REGISTRY' }),
  verbose: Flags.boolean({ description: 'One line per HTTP request and response on stderr (Authorization redacted).', helpGroup: 'REGISTRY' }),
  username: Flags.string({ char: 'u', description: 'Registry user (else the stored credential, docker or podman config).', env: 'COMPAT_USERNAME', helpGroup: 'REGISTRY' }),
  password: Flags.string({ char: 'p', description: 'Registry password (prefer COMPAT_PASSWORD or `compat login`).', env: 'COMPAT_PASSWORD', helpGroup: 'REGISTRY' }),
  concurrency: Flags.integer({ description: 'Blobs transferred at once.', default: 3, min: 1, max: 64, helpGroup: 'REGISTRY' }),
  timeout: Flags.custom<number>({
    description: 'Seconds to wait for the registry: to connect, for each answer, and for a download to move (default 30).',
    helpValue: 'SECONDS',
    helpGroup: 'REGISTRY',
    parse: async (input) => parseSeconds(input),
  })(),
};

/** A positive number of seconds, fractions allowed; at most a day, so that a typo is not an unbounded wait. */
export function parseSeconds(input: string): number {
  const n = Number(input);
  if (input.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 86_400) throw new Error(`--timeout: ${JSON.stringify(input)} is not a number of seconds (more than 0, at most 86400)`);
  return n;
}

type Parsed = { 'oci-layout'?: boolean; 'plain-http'?: boolean; insecure?: boolean; 'ca-file'?: string; 'cert-file'?: string; 'key-file'?: string; verbose?: boolean; username?: string; password?: string; timeout?: number };

export function toRegistryFlags(f: Parsed): RegistryFlags {
  return { ociLayout: f['oci-layout'], plainHttp: f['plain-http'], insecure: f.insecure, caFile: f['ca-file'], certFile: f['cert-file'], keyFile: f['key-file'], verbose: f.verbose, username: f.username, password: f.password, timeout: f.timeout };
}

