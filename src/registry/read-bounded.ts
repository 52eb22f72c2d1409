import type { Readable } from 'node:stream';
import { RegistryError } from './errors.js';

/** Collects a stream into memory, refusing (and destroying it) past `max` bytes: a bound on what a peer can make us hold. */
export async function readBounded(stream: Readable, max: number, label: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of stream as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      stream.destroy();
      throw new RegistryError('TOO_LARGE', `${label}: content larger than ${max} bytes`);
    }
    parts.push(c);
  }
  return Buffer.concat(parts);
}
