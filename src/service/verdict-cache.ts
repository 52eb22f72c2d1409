import { LRUCache } from 'lru-cache';

/** What a finished check answers: the verdict and the JSON report sent back as `payload`. */
export interface Verdict {
  compatible: boolean;
  payload: string;
}

export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * What an entry costs in memory: V8 may hold a string as UTF-16, so two bytes a character is the
 * bound to count against (a report of 3.4 MB of text costs up to 6.8 MB of heap).
 */
function bytesOf(key: string, v: Verdict): number {
  return 2 * (key.length + v.payload.length) + 64;
}

/**
 * An LRU of verdicts keyed by (content digest, host index fingerprint), bounded both by entries and
 * by bytes: one report can be megabytes, so a count alone does not bound the daemon's memory.
 * A verdict larger than the whole byte bound is not cached.
 */
export class VerdictCache {
  private readonly lru?: LRUCache<string, Verdict>;
  hits = 0;
  misses = 0;

  constructor(
    readonly maxEntries = 4096,
    readonly maxBytes = DEFAULT_CACHE_BYTES,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError(`cache size must be a whole number ≥ 0, got ${maxEntries}`);
    if (!Number.isInteger(maxBytes) || maxBytes < 0) throw new RangeError(`cache bytes must be a whole number ≥ 0, got ${maxBytes}`);
    if (maxEntries > 0 && maxBytes > 0) this.lru = new LRUCache<string, Verdict>({ max: maxEntries, maxSize: maxBytes, sizeCalculation: (v, k) => bytesOf(k, v) });
  }

  static key(digest: string, fingerprint: string): string {
    return `${fingerprint}\0${digest}`;
  }

  get(digest: string, fingerprint: string): Verdict | undefined {
    const v = this.lru?.get(VerdictCache.key(digest, fingerprint));
    if (v === undefined) this.misses++;
    else this.hits++;
    return v;
  }

  set(digest: string, fingerprint: string, verdict: Verdict): void {
    this.lru?.set(VerdictCache.key(digest, fingerprint), verdict);
  }

  /** Drops every verdict made against another index (called when the index is replaced). */
  retainFingerprint(fingerprint: string): void {
    if (!this.lru) return;
    const prefix = `${fingerprint}\0`;
    for (const k of [...this.lru.keys()]) if (!k.startsWith(prefix)) this.lru.delete(k);
  }

  get size(): number {
    return this.lru?.size ?? 0;
  }

  /** The bytes the cached verdicts are counted as (≤ maxBytes). */
  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }

  clear(): void {
    this.lru?.clear();
  }
}
