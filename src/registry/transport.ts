import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CancelableRequest, Got, OptionsInit, Response } from 'got';
import { RETRY_ERRORS, deadlinesOf, gotTimeout, guardProgress, requestKind, retryDelay, stallMessage, timeoutError, type DeadlineOptions, type Deadlines } from './deadlines.js';
import { RegistryError } from './errors.js';
import { trustAgent } from './trust.js';

/** How to reach a registry: TLS settings, retries and timeouts. */
export interface TransportOptions extends DeadlineOptions {
  /** Talk HTTP instead of HTTPS; unset, only `localhost` talks HTTP (see `plainHttpFor`). */
  plainHttp?: boolean;
  /** Accept any TLS certificate (self-signed test registries). */
  insecure?: boolean;
  /** PEM file of CA certificates trusted on top of node's roots and NODE_EXTRA_CA_CERTS. */
  caFile?: string;
  /** PEM text of CA certificates trusted on top of node's roots and NODE_EXTRA_CA_CERTS. */
  ca?: string | Buffer;
  /** PEM files of a client certificate and its key, for registries that ask for one (mTLS). */
  certFile?: string;
  keyFile?: string;
  /** Told of every request sent and response received (retries and redirects included); never the credentials. */
  onHttp?: (event: HttpEvent) => void;
  /** Retries after the first attempt on 429, 5xx and dropped connections (default 3); a refused one gets one quick retry, a deadline none. */
  retries?: number;
  /** Longest Retry-After honoured; a longer one fails the request instead (default 30 s). */
  maxRetryAfterMs?: number;
  /** Cap of the exponential backoff between retries (default 5 s). */
  backoffLimitMs?: number;
  userAgent?: string;
  maxRedirects?: number;
  /** Abandons every request (and retry) once aborted: the caller no longer wants the answer. */
  signal?: AbortSignal;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** Always a buffer, so that a retried request can send it again. */
  body?: Buffer;
  /** Refuse a response body larger than this (default 16 MiB): API answers are small. */
  maxBodyBytes?: number;
}

export interface HttpResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The URL that answered, after redirects. */
  url: string;
}

export interface HttpStreamRequest {
  url: string;
  headers?: Record<string, string>;
  /** What is downloaded, for messages (`blob sha256:…`). */
  label?: string;
}

export interface HttpStreamResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  stream: Readable;
  url: string;
}

/** One request or response as `onHttp` sees it: the URL without its query, the Authorization scheme only. */
export interface HttpEvent {
  phase: 'request' | 'response';
  method: string;
  url: string;
  status?: number;
  authorization?: string;
}

/** `> GET url [Authorization: Bearer ***]` and `< 200 GET url`, as curl -v marks them. */
export function formatHttpEvent(e: HttpEvent): string {
  if (e.phase === 'response') return `< ${e.status} ${e.method} ${e.url}`;
  return `> ${e.method} ${e.url}${e.authorization ? ` [Authorization: ${e.authorization} ***]` : ''}`;
}

/** An `onHttp` that writes each event as one line to `out` (stderr, say). */
export function httpLogger(out: { write(line: string): unknown }, prefix = ''): (e: HttpEvent) => void {
  return (e) => out.write(`${prefix}${formatHttpEvent(e)}\n`);
}

/**
 * Whether `host` is talked to over plain HTTP, as ORAS decides it: an explicit choice wins; else
 * the name `localhost` (any port) means a registry on this machine, HTTP, unless TLS material (a
 * CA or a client certificate) says otherwise. Every other host, 127.0.0.1 and ::1 included, keeps
 * TLS: ORAS treats only the name specially, and so does this.
 */
export function plainHttpFor(host: string, o: Pick<TransportOptions, 'plainHttp' | 'caFile' | 'ca' | 'certFile'>): boolean {
  if (o.plainHttp !== undefined) return o.plainHttp;
  if (o.caFile !== undefined || o.ca !== undefined || o.certFile !== undefined) return false;
  return /^localhost(:\d+)?$/i.test(host);
}

const RETRY_STATUS = [408, 429, 500, 502, 503, 504];
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const DEFAULT_MAX_BODY = 16 * 1024 * 1024;

let gotPromise: Promise<Got> | undefined;
/** got costs ~185 ms to import: load it on the first request, not when the CLI starts. */
function loadGot(): Promise<Got> {
  gotPromise ??= import('got').then((m) => m.got);
  return gotPromise;
}

/**
 * HTTP for the registry client. Redirects are followed here rather than by got so that the
 * rule "Authorization never goes to another origin" is ours to see and test (blob GETs are
 * commonly redirected to object storage with its own signed URL).
 */
export class Transport {
  readonly scheme: 'http' | 'https';
  private readonly ca?: string | Buffer;
  private readonly clientCert?: { cert: Buffer; key: Buffer };
  private readonly deadlines: Deadlines;
  private agent?: Promise<HttpsAgent | undefined>;

  constructor(readonly options: TransportOptions = {}) {
    this.scheme = options.plainHttp ? 'http' : 'https';
    this.deadlines = deadlinesOf(options);
    if (options.ca !== undefined) this.ca = options.ca;
    else if (options.caFile !== undefined) this.ca = readPem(options.caFile, 'CA file');
    if ((options.certFile === undefined) !== (options.keyFile === undefined)) throw new RegistryError('TLS', 'a client certificate needs both its certificate file and its key file');
    if (options.certFile !== undefined && options.keyFile !== undefined) {
      this.clientCert = { cert: readPem(options.certFile, 'certificate file'), key: readPem(options.keyFile, 'key file') };
    }
  }

  /** Base URL of a registry host's API. */
  baseUrl(host: string): string {
    return `${this.scheme}://${host}/v2/`;
  }

  /** A buffered request, retried by got on 429/5xx/connection errors, honouring Retry-After. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const got = await loadGot();
    const agent = await this.httpsAgent();
    let url = req.url;
    let method = req.method;
    let body = req.body;
    const headers = { ...req.headers };
    const maxBody = req.maxBodyBytes ?? DEFAULT_MAX_BODY;
    for (let hop = 0; ; hop++) {
      const opts: OptionsInit = {
        ...this.gotOptions(method, headers, requestKind(body), agent),
        responseType: 'buffer',
        ...(body !== undefined ? { body } : {}),
      };
      let res;
      let answered = false;
      try {
        const p = (got as unknown as (u: string, o: OptionsInit) => CancelableRequest<Response<Buffer>>)(url, opts);
        let tooLarge = false;
        p.on('response', (r: { headers: IncomingHttpHeaders }) => {
          if (Number(r.headers['content-length'] ?? 0) > maxBody) {
            tooLarge = true;
            p.cancel();
          }
        });
        p.on('downloadProgress', (prog: { transferred: number }) => {
          answered = true; // first emitted when the headers arrive
          if (prog.transferred > maxBody) {
            tooLarge = true;
            p.cancel();
          }
        });
        res = await p.catch((e: unknown) => {
          if (tooLarge) throw new RegistryError('TOO_LARGE', `${hostOf(url)}: response larger than ${maxBody} bytes refused`);
          throw e;
        });
      } catch (e) {
        throw this.networkError(url, e, answered);
      }
      const redirect = this.redirectTarget(res.statusCode, res.headers, url, hop);
      if (redirect) {
        if (!sameOrigin(url, redirect)) delete headers.authorization, delete headers.Authorization;
        if (res.statusCode === 303) {
          method = 'GET';
          body = undefined;
        }
        url = redirect;
        continue;
      }
      return { statusCode: res.statusCode, headers: res.headers, body: res.rawBody ?? Buffer.alloc(0), url };
    }
  }

  /**
   * A GET whose body is streamed (blobs). got cannot retry a stream transparently, so the
   * initial response is retried here with the same policy; once bytes flow, a failure is final.
   */
  async stream(req: HttpStreamRequest): Promise<HttpStreamResponse> {
    const got = await loadGot();
    const agent = await this.httpsAgent();
    let url = req.url;
    const headers = { ...req.headers };
    const retries = this.options.retries ?? 3;
    let attempt = 0;
    for (let hop = 0; ; ) {
      const s = got.stream(url, { ...this.gotOptions('GET', headers, 'stream', agent, false), retry: { limit: 0 } } as unknown as OptionsInit & { isStream?: true });
      let res: { statusCode: number; headers: IncomingHttpHeaders };
      try {
        res = await new Promise((resolve, reject) => {
          s.once('response', resolve);
          s.once('error', reject);
        });
      } catch (e) {
        s.destroy();
        const code = (e as { code?: string }).code;
        const delay = retryDelay(code, attempt + 1, attempt < retries && code !== undefined && RETRY_ERRORS.includes(code) ? this.backoff(attempt + 1) : 0);
        if (delay > 0) {
          attempt++;
          await sleep(delay);
          continue;
        }
        throw this.networkError(url, e);
      }
      // got runs no afterResponse hook for streams.
      this.options.onHttp?.({ phase: 'response', method: 'GET', url: withoutQuery(url), status: res.statusCode });
      const redirect = this.redirectTarget(res.statusCode, res.headers, url, hop);
      if (redirect) {
        s.destroy();
        if (!sameOrigin(url, redirect)) delete headers.authorization, delete headers.Authorization;
        url = redirect;
        hop++;
        continue;
      }
      if (RETRY_STATUS.includes(res.statusCode) && attempt < retries) {
        const wait = this.retryAfter(res.headers);
        if (wait !== undefined) {
          s.destroy();
          await sleep(wait || this.backoff(attempt + 1));
          attempt++;
          continue;
        }
      }
      const host = hostOf(url);
      guardProgress(s, this.deadlines, () => new RegistryError('TIMEOUT', stallMessage(host, req.label ?? 'download', this.deadlines)));
      return { statusCode: res.statusCode, headers: res.headers, stream: s, url };
    }
  }

  /** One TLS context for every connection this transport makes (see trust.ts). */
  private httpsAgent(): Promise<HttpsAgent | undefined> {
    this.agent ??= this.scheme === 'https' ? trustAgent({ ...(this.ca !== undefined ? { ca: this.ca } : {}), ...(this.clientCert ? { clientCert: this.clientCert } : {}) }) : Promise.resolve(undefined);
    return this.agent;
  }

  private gotOptions(method: string, headers: Record<string, string>, kind: 'api' | 'upload' | 'stream', agent: HttpsAgent | undefined, decompress = true): OptionsInit {
    const o = this.options;
    return {
      method: method as OptionsInit['method'],
      headers: { 'user-agent': o.userAgent ?? 'oci-registry-client', ...headers },
      followRedirect: false,
      throwHttpErrors: false,
      decompress,
      retry: {
        limit: o.retries ?? 3,
        methods: ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE'],
        statusCodes: RETRY_STATUS,
        errorCodes: RETRY_ERRORS,
        maxRetryAfter: o.maxRetryAfterMs ?? 30_000,
        backoffLimit: o.backoffLimitMs ?? 5_000,
        noise: 50,
        calculateDelay: ({ attemptCount, error, computedValue }) => retryDelay(error.code, attemptCount, computedValue),
      },
      timeout: gotTimeout(this.deadlines, kind),
      https: { rejectUnauthorized: !o.insecure },
      ...(agent ? { agent: { https: agent } } : {}),
      ...(o.onHttp ? { hooks: this.httpHooks(o.onHttp) } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    };
  }

  /** Every attempt got makes (retries included) and every answer it gets, for `onHttp`. */
  private httpHooks(onHttp: (e: HttpEvent) => void): OptionsInit['hooks'] {
    return {
      beforeRequest: [
        (req) => {
          const auth = req.headers.authorization;
          onHttp({ phase: 'request', method: req.method, url: withoutQuery(String(req.url)), ...(typeof auth === 'string' ? { authorization: auth.split(' ')[0] } : {}) });
        },
      ],
      afterResponse: [
        (res) => {
          onHttp({ phase: 'response', method: res.request.options.method, url: withoutQuery(res.url), status: res.statusCode });
          return res;
        },
      ],
    };
  }

  private redirectTarget(status: number, headers: IncomingHttpHeaders, url: string, hop: number): string | undefined {
    if (!REDIRECTS.has(status) || headers.location === undefined) return undefined;
    if (hop >= (this.options.maxRedirects ?? 10)) throw new RegistryError('PROTOCOL', `${hostOf(url)}: too many redirects`);
    return new URL(headers.location, url).toString();
  }

  /** Retry-After in ms (0 when absent, so the caller backs off), undefined when beyond the bound. */
  private retryAfter(headers: IncomingHttpHeaders): number | undefined {
    const h = headers['retry-after'];
    if (h === undefined) return 0;
    let ms = Number(h) * 1000;
    if (Number.isNaN(ms)) ms = Math.max(0, Date.parse(h) - Date.now());
    return ms > (this.options.maxRetryAfterMs ?? 30_000) ? undefined : ms;
  }

  private backoff(attempt: number): number {
    return Math.min(2 ** (attempt - 1) * 1000, this.options.backoffLimitMs ?? 5_000);
  }

  /** A got error turned into one line without request options (they may hold credentials). */
  networkError(url: string, e: unknown, answered = false): RegistryError {
    if (e instanceof RegistryError) return e;
    // got wraps what a stream was destroyed with (a stalled download) in its own error.
    const cause = (e as { cause?: unknown })?.cause;
    if (cause instanceof RegistryError) return cause;
    const err = e as { code?: string; message?: string };
    const host = hostOf(url);
    const timeout = timeoutError(host, e, this.deadlines, answered);
    if (timeout) return timeout;
    const code = err.code ?? '';
    // The server's alert about the certificate this side sent (or did not send): mTLS.
    if (/ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|CERTIFICATE_UNKNOWN)/.test(code)) {
      return new RegistryError('TLS', `${host}: the registry refused the client certificate (${code}): give one it trusts (certificate and key files)`);
    }
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
      return new RegistryError('TLS', `${host}: TLS certificate not trusted (${code}): pass a CA file, or allow insecure`);
    }
    if (code === 'EPROTO' || /wrong version number|packet length too long/.test(err.message ?? '')) {
      return new RegistryError('TLS', `${host}: TLS handshake failed: is it a plain-HTTP registry?`);
    }
    const text = (err.message ?? String(e)).split('\n')[0] ?? '';
    return new RegistryError('NETWORK', `${host}: ${redactUrl(text)}`);
  }
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function sameOrigin(a: string, b: string): boolean {
  const x = new URL(a);
  const y = new URL(b);
  return x.protocol === y.protocol && x.host === y.host;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new RegistryError('TLS', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** A URL for a log line: pre-signed storage URLs carry secrets in the query. */
function withoutQuery(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : `${url.slice(0, q)}?…`;
}

/** Drops query strings from URLs inside a message: pre-signed storage URLs carry secrets there. */
function redactUrl(text: string): string {
  return text.replace(/(https?:\/\/[^\s?]+)\?\S*/g, '$1?…');
}
