import type { Readable } from 'node:stream';
import { RegistryError } from './errors.js';

/**
 * Every wait on a registry has a deadline. API answers are small, so each request gets a total
 * deadline; a blob may be 10 GB, so its download gets none, only a floor on progress per window.
 */
export interface DeadlineOptions {
  /** Deadline of each API request and of a blob's response headers; the progress window of a blob (default 30 s). */
  timeoutMs?: number;
  /** Connect deadline (default: `timeoutMs`). */
  connectTimeoutMs?: number;
  /** A body moving fewer bytes than this in a whole `timeoutMs` window has stalled (default 16 KiB). */
  stallBytes?: number;
}

export interface Deadlines {
  connectMs: number;
  answerMs: number;
  stallBytes: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_STALL_BYTES = 16 * 1024;
/** Request bodies above this are uploads (PATCH chunks): timed by idleness, not by a total. */
const LARGE_BODY = 1024 * 1024;

export function deadlinesOf(o: DeadlineOptions): Deadlines {
  const answerMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return { answerMs, connectMs: o.connectTimeoutMs ?? answerMs, stallBytes: o.stallBytes ?? DEFAULT_STALL_BYTES };
}

/** got's `timeout` option for one request: `api` (small body), `upload` (large body) or `stream` (blob download). */
export function gotTimeout(d: Deadlines, kind: 'api' | 'upload' | 'stream'): Record<string, number> {
  const connect = { lookup: d.connectMs, connect: d.connectMs, secureConnect: d.connectMs };
  if (kind === 'api') return { ...connect, request: d.answerMs };
  if (kind === 'upload') return { ...connect, socket: d.answerMs, response: d.answerMs };
  return { ...connect, response: d.answerMs };
}

export function requestKind(body: Buffer | undefined): 'api' | 'upload' {
  return body !== undefined && body.length > LARGE_BODY ? 'upload' : 'api';
}

/**
 * Errors where nobody is there (refused, no route, no name): one quick retry for a blip, not the
 * backoff meant for a busy server, so that a caller with a fallback (the node's store) gets to it
 * at once. A deadline that passed is final: retrying would multiply the wait the user bounded.
 */
const UNREACHABLE = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH'];
export const RETRY_ERRORS = ['ECONNRESET', 'EPIPE', 'ECONNABORTED', ...UNREACHABLE];
const QUICK_RETRY_MS = 200;

/** The wait before retry number `attempt` (from 1), given the generic policy's `computed` wait; 0: do not retry. */
export function retryDelay(code: string | undefined, attempt: number, computed: number): number {
  if (computed <= 0) return 0;
  if (code !== undefined && UNREACHABLE.includes(code)) return attempt <= 1 ? QUICK_RETRY_MS : 0;
  return computed;
}

/** A got deadline error as one line naming the host and the deadline; undefined for other errors. */
export function timeoutError(host: string, e: unknown, d: Deadlines, answered: boolean): RegistryError | undefined {
  const err = e as { name?: string; event?: string };
  if (err?.name !== 'TimeoutError') return undefined;
  const within = (ms: number) => `within ${seconds(ms)} s`;
  switch (err.event) {
    case 'lookup':
      return new RegistryError('TIMEOUT', `${host}: name not resolved ${within(d.connectMs)}`);
    case 'connect':
    case 'secureConnect':
      return new RegistryError('TIMEOUT', `${host}: could not connect ${within(d.connectMs)}`);
    case 'socket':
      return new RegistryError('TIMEOUT', `${host}: connection idle for ${seconds(d.answerMs)} s`);
    default:
      return new RegistryError('TIMEOUT', `${host}: ${answered ? 'answer not complete' : 'no answer'} ${within(d.answerMs)}`);
  }
}

/**
 * Destroys a got download stream with `fail()` when a whole window passes with fewer than
 * `stallBytes` read while its reader wanted more. got reads only as fast as the reader does, so a
 * window in which the reader paused (back-pressure: a slow disk) is not held against the peer.
 */
export function guardProgress(stream: Readable, d: Deadlines, fail: () => Error): void {
  let transferred = 0;
  let atTick = 0;
  stream.on('downloadProgress', (p: { transferred: number }) => {
    transferred = p.transferred;
  });
  const timer = setInterval(() => {
    if (stream.isPaused() || transferred - atTick >= d.stallBytes) {
      atTick = transferred;
      return;
    }
    clearInterval(timer);
    stream.destroy(fail());
  }, d.answerMs);
  timer.unref();
  stream.once('close', () => clearInterval(timer));
}

export function stallMessage(host: string, what: string, d: Deadlines): string {
  const b = d.stallBytes;
  const amount = b % 1024 === 0 ? `${b / 1024} KiB` : `${b} bytes`;
  return `${host}: ${what} stalled: less than ${amount} in ${seconds(d.answerMs)} s`;
}

function seconds(ms: number): string {
  return String(Math.round(ms) / 1000);
}
