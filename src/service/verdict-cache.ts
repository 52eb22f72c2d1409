/** What a finished check answers: the verdict and the JSON report sent back as `payload`. */
export interface Verdict {
  compatible: boolean;
  payload: string;
}

/**
 * A bounded LRU of verdicts keyed by (content digest, host index fingerprint). A Map keeps
 * insertion order, so re-inserting on a hit moves the entry to the young end and the first key is
 * always the least recently used.
 */
export class VerdictCache {
  private readonly map = new Map<string, Verdict>();
  hits = 0;
  misses = 0;

  constructor(readonly maxEntries = 4096) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError(`cache size must be a whole number ≥ 0, got ${maxEntries}`);
  }

  static key(digest: string, fingerprint: string): string {
    return `${fingerprint}\0${digest}`;
  }

  get(digest: string, fingerprint: string): Verdict | undefined {
    const k = VerdictCache.key(digest, fingerprint);
    const v = this.map.get(k);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(k);
    this.map.set(k, v);
    return v;
  }

  set(digest: string, fingerprint: string, verdict: Verdict): void {
    if (this.maxEntries === 0) return;
    const k = VerdictCache.key(digest, fingerprint);
    this.map.delete(k);
    this.map.set(k, verdict);
    while (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value as string);
  }

  /** Drops every verdict made against another index (called when the index is replaced). */
  retainFingerprint(fingerprint: string): void {
    const prefix = `${fingerprint}\0`;
    for (const k of this.map.keys()) if (!k.startsWith(prefix)) this.map.delete(k);
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }
}
