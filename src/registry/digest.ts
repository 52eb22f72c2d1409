import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { RegistryError } from './errors.js';

const ALGORITHMS: Record<string, { node: string; hexLength: number }> = {
  sha256: { node: 'sha256', hexLength: 64 },
  sha512: { node: 'sha512', hexLength: 128 },
};

export function isDigest(s: string): boolean {
  const i = s.indexOf(':');
  if (i < 0) return false;
  const alg = ALGORITHMS[s.slice(0, i)];
  return alg !== undefined && new RegExp(`^[a-f0-9]{${alg.hexLength}}$`).test(s.slice(i + 1));
}

/** Throws unless `digest` is a sha256/sha512 digest; the value is later used in paths and URLs. */
export function assertDigest(digest: string, what = 'digest'): void {
  if (!isDigest(digest)) throw new RegistryError('INVALID_DIGEST', `invalid ${what}: ${JSON.stringify(digest)}`);
}

export function splitDigest(digest: string): { algorithm: string; hex: string } {
  assertDigest(digest);
  const i = digest.indexOf(':');
  return { algorithm: digest.slice(0, i), hex: digest.slice(i + 1) };
}

export function createDigester(algorithm = 'sha256'): Hash {
  const alg = ALGORITHMS[algorithm];
  if (!alg) throw new RegistryError('INVALID_DIGEST', `unsupported digest algorithm ${algorithm}`);
  return createHash(alg.node);
}

export function digestOf(data: Buffer | string, algorithm = 'sha256'): string {
  return `${algorithm}:${createDigester(algorithm).update(data).digest('hex')}`;
}

/** Checks bytes already in memory against a descriptor's digest and size. */
export function verifyBytes(data: Buffer, expected: { digest: string; size?: number }, label: string): void {
  if (expected.size !== undefined && expected.size >= 0 && data.length !== expected.size) {
    throw new RegistryError('SIZE_MISMATCH', `${label} has ${data.length} bytes, expected ${expected.size}`);
  }
  const { algorithm } = splitDigest(expected.digest);
  if (digestOf(data, algorithm) !== expected.digest) {
    throw new RegistryError('DIGEST_MISMATCH', `${label} does not match its digest`);
  }
}

/**
 * A pass-through that hashes and counts what flows, and fails the stream (instead of ending it)
 * when the content is longer than announced or does not match the digest. Consumers that write
 * to a temp file and rename only after a clean end therefore never keep bad content.
 */
export class VerifyStream extends Transform {
  private readonly hash: Hash;
  private seen = 0;

  constructor(
    private readonly expected: { digest: string; size?: number },
    private readonly label: string,
  ) {
    super();
    this.hash = createDigester(splitDigest(expected.digest).algorithm);
    // Small content can be fully read and rejected before a consumer has attached (the consumer
    // may still be awaiting its own set-up): keep that from crashing the process. The stream is
    // left errored, so a later pipeline() or for-await still sees the error.
    this.on('error', () => undefined);
  }

  get bytes(): number {
    return this.seen;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    const size = this.expected.size;
    if (size !== undefined && size >= 0 && this.seen > size) {
      cb(new RegistryError('SIZE_MISMATCH', `${this.label} is larger than its ${size} bytes`));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const size = this.expected.size;
    if (size !== undefined && size >= 0 && this.seen !== size) {
      cb(new RegistryError('SIZE_MISMATCH', `${this.label} has ${this.seen} bytes, expected ${size}`));
      return;
    }
    const got = `${splitDigest(this.expected.digest).algorithm}:${this.hash.digest('hex')}`;
    if (got !== this.expected.digest) {
      cb(new RegistryError('DIGEST_MISMATCH', `${this.label} does not match its digest`));
      return;
    }
    cb();
  }
}
