import { MAX_MANIFEST_BYTES } from './media-types.js';

/**
 * One error class for everything the registry library refuses or fails at. `expose` tells a CLI
 * the message is meant for the user as is (one line naming the reference or host and the problem);
 * `code` lets callers branch without parsing text. No `cause` is kept on purpose: HTTP library
 * errors carry request options, and those may hold an Authorization header.
 */
export type RegistryErrorCode =
  | 'INVALID_REFERENCE'
  | 'INVALID_DIGEST'
  | 'MANIFEST_UNKNOWN'
  | 'BLOB_UNKNOWN'
  | 'NAME_UNKNOWN'
  | 'NOT_FOUND'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'TOO_LARGE'
  | 'UNSUPPORTED'
  | 'INVALID_MANIFEST'
  | 'TOO_MANY_REQUESTS'
  | 'NETWORK'
  | 'TIMEOUT'
  | 'TLS'
  | 'PROTOCOL'
  | 'REFERRERS'
  | 'CREDENTIALS'
  | 'LAYOUT'
  | 'REFUSED'
  | 'OUTPUT'
  | 'SERVER';

export class RegistryError extends Error {
  readonly expose = true;
  readonly code: RegistryErrorCode;
  readonly status?: number;

  constructor(code: RegistryErrorCode, message: string, status?: number) {
    super(oneLine(message));
    this.name = 'RegistryError';
    this.code = code;
    if (status !== undefined) this.status = status;
  }
}

export function isRegistryError(e: unknown, code?: RegistryErrorCode): e is RegistryError {
  return e instanceof RegistryError && (code === undefined || e.code === code);
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** The one refusal of a manifest above MAX_MANIFEST_BYTES, wherever it is found out. */
export function manifestTooLarge(label: string): RegistryError {
  return new RegistryError('TOO_LARGE', `${label}: manifest larger than ${MAX_MANIFEST_BYTES / (1024 * 1024)} MiB refused`);
}
