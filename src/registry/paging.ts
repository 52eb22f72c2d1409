import { RegistryError } from './errors.js';

/** Bounds on one paged listing (tags, referrers): reaching one is an error, never a shorter list. */
export interface ListLimits {
  /** Most entries kept (tags: 100,000; referrers: 10,000 by default). */
  maxItems: number;
  /** Most response bytes read over all pages (default 32 MiB). */
  maxBytes: number;
  /** Most pages requested (default 10,000). */
  maxPages: number;
}

export const DEFAULT_LIST_BYTES = 32 * 1024 * 1024;
export const DEFAULT_LIST_PAGES = 10_000;

/**
 * Walks the pages of one listing. A registry can page forever (each `Link` a new URL), loop, or
 * send pages that grow without end; a truncated tag list looks complete to whoever reads it, so
 * each of these stops the walk with an error saying which bound was reached, as oras-go does.
 */
export class Pager {
  private readonly visited = new Set<string>();
  private bytes = 0;
  private items = 0;

  /**
   * @param subject how messages name the listing: `host/repo: tag list`, `host/repo@sha256:…: referrers:`
   * @param unit what an entry is called (`tags`, `referrers`)
   * @param verbs whether a bound reads `tag list has more than…` (true) or `referrers: more than…` (false)
   */
  constructor(
    private readonly subject: string,
    private readonly unit: string,
    private readonly limits: ListLimits,
    private readonly verbs = true,
  ) {}

  /** Records a request for `url`; a URL asked for before means the pages loop. */
  visit(url: string): void {
    if (this.visited.has(url)) throw new RegistryError('PROTOCOL', `${this.subject} pages loop back to an earlier page`);
    if (this.visited.size >= this.limits.maxPages) throw this.refuse('has ', `more than ${this.limits.maxPages} pages`);
    this.visited.add(url);
  }

  /** The most the next page may bring, for the request's own body bound. */
  get bytesLeft(): number {
    return Math.max(0, this.limits.maxBytes - this.bytes);
  }

  /** Counts a page's bytes and entries against the bounds. */
  count(bytes: number, items: number): void {
    this.bytes += bytes;
    if (this.bytes > this.limits.maxBytes) throw this.tooLarge();
    this.items += items;
    if (this.items > this.limits.maxItems) throw this.refuse('has ', `more than ${this.limits.maxItems} ${this.unit}`);
  }

  /** A page refused by its own bound or by what the listing may still read. */
  pageTooLarge(pageMax: number): RegistryError {
    return this.bytesLeft <= pageMax ? this.tooLarge() : new RegistryError('TOO_LARGE', `${this.subject} page larger than ${pageMax} bytes refused`);
  }

  tooLarge(): RegistryError {
    return this.refuse('is ', `larger than ${this.limits.maxBytes} bytes`);
  }

  private refuse(verb: string, what: string): RegistryError {
    return new RegistryError('TOO_LARGE', `${this.subject} ${this.verbs ? verb : ''}${what}: refused rather than cut short`);
  }
}

/** The `rel="next"` target of a `Link` header, if any. */
export function nextLink(link: string | string[] | undefined): string | undefined {
  const text = Array.isArray(link) ? link.join(', ') : link;
  if (!text) return undefined;
  for (const part of text.split(/,(?=\s*<)/)) {
    const m = /<([^>]*)>\s*;(.*)/.exec(part.trim());
    if (m && /rel\s*=\s*"?next"?/i.test(m[2] ?? '')) return m[1];
  }
  return undefined;
}
