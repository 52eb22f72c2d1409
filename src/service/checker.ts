import { createHash } from 'node:crypto';
import { checkSpecText } from '../artifact/check-spec.js';
import type { RegistryFlags } from '../artifact/fetch-spec.js';
import type { HostIndex } from '../host/host-index.js';
import type { CompatRequest, CompatResponse } from './proto.js';
import { VerdictCache } from './verdict-cache.js';

export type FetchSpec = (uri: string, flags: RegistryFlags, signal?: AbortSignal) => Promise<{ text: string; digest: string }>;

export interface CheckerOptions {
  /** The index in service at the time of each call (it changes when the node's libraries do). */
  index: () => HostIndex | Promise<HostIndex>;
  /** Verdicts kept in the LRU (0: no cache). */
  cacheEntries?: number;
  /** Bytes the cached verdicts may take (0: no cache). */
  cacheBytes?: number;
  registry?: RegistryFlags;
  /** How a `uri` becomes spec text (default: the artifact module's fetchSpecText, loaded lazily). */
  fetchSpec?: FetchSpec;
  /** Throws (an exposed error) for a `uri` that must not be fetched; called before any fetch. */
  admit?: (uri: string) => void;
}

/** One answered call, with what the log line says about it. */
export interface CheckOutcome extends CompatResponse {
  /** What was checked: `payload:sha256:…` or the uri. */
  subject: string;
  cached: boolean;
  ms: number;
  /** Only for status ERROR: the message also sent back as payload. */
  error?: string;
  /** True when the error was not the caller's input but a fault of the daemon. */
  internal?: boolean;
}

const MAX_MESSAGE_CHARS = 2000;

/**
 * The daemon's answer to one CompatRequest, independent of gRPC. Never throws: whatever the input,
 * the outcome is SUCCESS with the verdict, or ERROR with a message naming what was wrong.
 */
export class Checker {
  readonly cache: VerdictCache;
  private fetchSpec?: FetchSpec;

  constructor(private readonly opts: CheckerOptions) {
    this.cache = new VerdictCache(opts.cacheEntries ?? 10000, opts.cacheBytes);
    this.fetchSpec = opts.fetchSpec;
  }

  /** `signal`: the caller gave up; registry work on its behalf is abandoned. */
  async check(req: CompatRequest, signal?: AbortSignal): Promise<CheckOutcome> {
    const t0 = performance.now();
    const payload = typeof req.payload === 'string' ? req.payload : '';
    const uri = typeof req.uri === 'string' ? req.uri.trim() : '';
    let subject = uri || 'payload';
    try {
      if (!payload && !uri) return this.error(t0, subject, 'empty request: set payload to a compat spec (JSON) or uri to a registry reference');
      if (payload && uri) return this.error(t0, subject, 'set payload or uri, not both');
      const index = await this.opts.index();
      let text: string;
      let digest: string;
      if (uri) {
        const fetch = this.fetchSpec ?? (this.fetchSpec = (await import('../artifact/fetch-spec.js')).fetchSpecText);
        try {
          this.opts.admit?.(uri);
          ({ text, digest } = await fetch(uri, this.opts.registry ?? {}, signal));
        } catch (e) {
          const msg = messageOf(e);
          return this.error(t0, subject, msg.includes(uri) ? msg : `${uri}: ${msg}`, !isExposed(e) && !isRegistryError(e));
        }
      } else {
        text = payload;
        digest = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
        subject = `payload:${digest.slice(0, 19)}`;
      }
      const hit = this.cache.get(digest, index.fingerprint);
      if (hit) return { status: 'SUCCESS', compatible: hit.compatible, payload: hit.payload, subject, cached: true, ms: performance.now() - t0 };
      let verdict: { compatible: boolean; payload: string };
      try {
        const { report } = checkSpecText(text, uri || 'payload', index);
        verdict = { compatible: report.compatible, payload: JSON.stringify(report) };
      } catch (e) {
        return this.error(t0, subject, messageOf(e), !isExposed(e));
      }
      this.cache.set(digest, index.fingerprint, verdict);
      return { status: 'SUCCESS', ...verdict, subject, cached: false, ms: performance.now() - t0 };
    } catch (e) {
      return this.error(t0, subject, `internal error: ${messageOf(e)}`, true);
    }
  }

  private error(t0: number, subject: string, message: string, internal = false): CheckOutcome {
    const m = message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message;
    return { status: 'ERROR', compatible: false, payload: m, subject, cached: false, ms: performance.now() - t0, error: m, ...(internal ? { internal } : {}) };
  }
}

function messageOf(e: unknown): string {
  return ((e instanceof Error ? e.message : String(e)) || 'unknown error').replace(/^Error: /, '');
}

/** SpecError and friends: the input's fault, with a message meant for the user. */
function isExposed(e: unknown): boolean {
  return !!e && typeof e === 'object' && (e as { expose?: unknown }).expose === true;
}

/** Registry failures (not found, unauthorized, unreachable) are the request's business, not a daemon fault. */
function isRegistryError(e: unknown): boolean {
  return !!e && typeof e === 'object' && (typeof (e as { code?: unknown }).code === 'string' || typeof (e as { status?: unknown }).status === 'number');
}
