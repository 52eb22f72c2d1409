import { lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { RegistryFlags } from '../artifact/fetch-spec.js';
import type { HostIndex } from '../host/host-index.js';
import { Checker, type CheckOutcome, type FetchSpec } from './checker.js';
import { IndexWatcher } from './index-watcher.js';
import { logValue, safeLine } from './log.js';
import { RegistryPolicy } from './registry-policy.js';
import { type LabelsOptions, LabelsWriter } from './labels-writer.js';
import { type CompatRequest, type CompatResponse, compatService, SERVICE_NAME } from './proto.js';

export const DEFAULT_ADDRESS = '127.0.0.1:50051';
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_CACHE_ENTRIES = 10000;
export const DEFAULT_POLL_MS = 5000;
export const DEFAULT_GRACE_MS = 5000;
export const DEFAULT_IDLE_MS = 120_000;
export const DEFAULT_MAX_CONNECTIONS = 1024;
/**
 * A connection whose streams never end is never idle: it is closed (gracefully, then cut after the
 * grace) at this age, and pinged so that a peer gone silent is noticed.
 */
const MAX_CONNECTION_AGE_MS = 30 * 60_000;
const MAX_CONNECTION_AGE_GRACE_MS = 60_000;
const KEEPALIVE_MS = 60_000;
const KEEPALIVE_TIMEOUT_MS = 20_000;

export interface ServeOptions {
  /** `HOST:PORT` (port 0 picks a free one), `[V6]:PORT`, or `unix:///path.sock`. */
  address?: string;
  /** Extra library directories the node provides (indexed with the rest). */
  extraDirs?: string[];
  indexFile?: string;
  /** The loader cache to index (default /etc/ld.so.cache). */
  cachePath?: string;
  /** The node's root file system as mounted here, indexed as if it were `/`. */
  root?: string;
  /** Interval between freshness checks of the host index; 0 never rebuilds. */
  pollMs?: number;
  /** Largest request accepted (gRPC refuses larger ones with RESOURCE_EXHAUSTED). */
  maxMessageBytes?: number;
  /** Verdicts kept in the LRU. */
  cacheEntries?: number;
  /** Bytes the cached verdicts may take (default 64 MiB); a larger verdict is not cached. */
  cacheBytes?: number;
  /** How `uri` requests reach the registry (as `pull`'s flags; `credentialHost` is `--registry`). */
  registry?: RegistryFlags;
  /**
   * Registries a `uri` may name besides `registry.credentialHost`: `host[:port]` or `*.domain[:port]`.
   * None by default; a uri naming no host is always refused. Not used with `registry.ociLayout`.
   */
  allowRegistries?: string[];
  fetchSpec?: FetchSpec;
  /** Build the index in a worker thread (default: when running from dist/). */
  worker?: boolean;
  /** One line per event (check, index, shutdown); undefined logs nothing. */
  log?: (line: string) => void;
  /** Per-check lines too (default true); false keeps only index and lifecycle lines. */
  logChecks?: boolean;
  /**
   * A connection with no call open for this long is closed, including one that never completed
   * the HTTP/2 handshake (default 120 s; 0 never).
   */
  idleTimeoutMs?: number;
  /** Connections open at once; one more is closed as soon as it is accepted (default 1024). */
  maxConnections?: number;
  /** Keep an NFD feature file of labels for these artifacts (written before SERVING). */
  labels?: LabelsOptions;
}

export class AddressError extends Error {
  readonly expose = true;
}

/** Validates an address the way the CLI takes it; returns what grpc-js binds. */
export function parseAddress(address: string): { bind: string; unixPath?: string } {
  const a = address.trim();
  if (a.startsWith('unix:')) {
    const path = a.startsWith('unix://') ? a.slice('unix://'.length) : a.slice('unix:'.length);
    if (!path) throw new AddressError(`${address}: a unix socket address needs a path (unix:///run/compat.sock)`);
    return { bind: a.startsWith('unix://') && !path.startsWith('/') ? `unix:${path}` : a, unixPath: path };
  }
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):(\d+)$/.exec(a);
  if (!m) throw new AddressError(`${address}: expected HOST:PORT (e.g. 127.0.0.1:50051) or unix:///path.sock`);
  const port = Number(m[2]);
  if (port > 65535) throw new AddressError(`${address}: port ${port} is out of range`);
  return { bind: a };
}

/** A socket file left by a daemon that died is removed; one that still answers is refused. */
async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new AddressError(`unix:${path}: exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    const t = setTimeout(() => (s.destroy(), resolve(true)), 1000);
    s.once('connect', () => (clearTimeout(t), s.destroy(), resolve(true)));
    s.once('error', () => (clearTimeout(t), resolve(false)));
  });
  if (alive) throw new AddressError(`unix:${path}: another server is listening there`);
  unlinkSync(path);
}

/** Where a parsed address listens, as `net.Server.listen` takes it. */
function listenTarget(parsed: { bind: string; unixPath?: string }): { path: string } | { host: string; port: number } {
  if (parsed.unixPath) return { path: parsed.unixPath };
  const i = parsed.bind.lastIndexOf(':');
  return { host: parsed.bind.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(parsed.bind.slice(i + 1)) };
}

/**
 * The listening socket is ours rather than grpc-js's so that it can be capped: beyond `max`
 * connections, Node closes a new one as soon as it is accepted (never queued, never served).
 */
function listen(address: string, parsed: { bind: string; unixPath?: string }, max: number, accept: (socket: Socket) => void): Promise<NetServer> {
  const server = createServer({ noDelay: true }, accept);
  server.maxConnections = max;
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new AddressError(`${address}: ${e.message}`)));
    server.listen(listenTarget(parsed), () => resolve(server));
  });
}

/** `compat serve`: the CompatibilityService and grpc.health.v1.Health over one grpc-js server. */
export class CompatServer {
  readonly checker: Checker;
  readonly watcher: IndexWatcher;
  readonly health: HealthImplementation;
  readonly labels?: LabelsWriter;
  /** The address actually bound (the real port when asked for port 0). */
  address = '';
  checks = 0;
  private readonly server: grpc.Server;
  private listener?: NetServer;
  private readonly maxConnections: number;
  /** Connections refused because the cap was reached. */
  refused = 0;
  private atCap = false;
  /**
   * Open connections: grpc-js's forceShutdown only reaches sessions it tracks for channelz (off
   * here), so a forced stop destroys them itself.
   */
  private readonly connections = new Set<Socket>();
  private inFlight = 0;
  private stopping?: Promise<{ forced: boolean }>;
  private readonly log?: (line: string) => void;
  private readonly logChecks: boolean;
  private firstIndex: Promise<HostIndex>;

  private constructor(opts: ServeOptions) {
    // First: a malformed pattern stops the start before anything is bound or scanned.
    const policy = opts.registry?.ociLayout ? undefined : RegistryPolicy.from({ allow: opts.allowRegistries, credentialHost: opts.registry?.credentialHost });
    this.log = opts.log;
    this.logChecks = opts.logChecks ?? true;
    this.watcher = new IndexWatcher({
      extraDirs: opts.extraDirs,
      indexFile: opts.indexFile,
      cachePath: opts.cachePath,
      root: opts.root,
      pollMs: opts.pollMs ?? DEFAULT_POLL_MS,
      worker: opts.worker,
      onIndex: (e) => {
        const libs = Object.keys(e.index.objects).length;
        if (e.previous) {
          this.checker.cache.retainFingerprint(e.index.fingerprint);
          this.labels?.update(e.index);
          this.info(`host index rebuilt: ${libs} libraries, fingerprint ${e.index.fingerprint} (was ${e.previous.fingerprint}), ${e.ms.toFixed(0)} ms`);
        } else this.info(`host index ${e.how}: ${libs} libraries, fingerprint ${e.index.fingerprint}${e.index.glibc ? `, ${e.index.glibc}` : ''}, ${e.ms.toFixed(0)} ms`);
      },
      onError: (err) => this.line('error', `host index rebuild failed, still serving the old one: ${err.message}`),
    });
    this.firstIndex = new Promise(() => {});
    if (opts.labels) {
      this.labels = new LabelsWriter(opts.labels, {
        registry: opts.registry ?? {},
        index: () => this.watcher.current,
        info: (m) => this.info(m),
        error: (m) => this.line('error', m),
      });
    }
    this.checker = new Checker({
      index: () => this.watcher.current ?? this.firstIndex,
      cacheEntries: opts.cacheEntries ?? DEFAULT_CACHE_ENTRIES,
      cacheBytes: opts.cacheBytes,
      registry: opts.registry,
      fetchSpec: opts.fetchSpec,
      ...(policy ? { admit: (uri: string) => policy.admit(uri) } : {}),
    });
    this.health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICE_NAME]: 'NOT_SERVING' });
    const max = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (!Number.isInteger(this.maxConnections) || this.maxConnections < 1) throw new RangeError(`max connections must be a whole number ≥ 1, got ${this.maxConnections}`);
    const idle = opts.idleTimeoutMs ?? DEFAULT_IDLE_MS;
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': max,
      'grpc.max_send_message_length': -1,
      'grpc.enable_channelz': 0,
      // grpc-js starts the idle clock when the connection is accepted, not after the HTTP/2 preface.
      ...(idle > 0 ? { 'grpc.max_connection_idle_ms': idle } : {}),
      'grpc.max_connection_age_ms': MAX_CONNECTION_AGE_MS,
      'grpc.max_connection_age_grace_ms': MAX_CONNECTION_AGE_GRACE_MS,
      'grpc.keepalive_time_ms': KEEPALIVE_MS,
      'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
    });
    this.server.addService(compatService(), { CheckCompatibility: this.handle });
    this.health.addToServer(this.server);
  }

  /** Binds the address, loads the host index, then reports SERVING. */
  static async start(opts: ServeOptions = {}): Promise<CompatServer> {
    const s = new CompatServer(opts);
    const address = opts.address ?? DEFAULT_ADDRESS;
    const parsed = parseAddress(address);
    if (parsed.unixPath) await clearStaleSocket(parsed.unixPath);
    const injector = s.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    s.listener = await listen(address, parsed, s.maxConnections, (socket) => {
      s.atCap = false;
      s.connections.add(socket);
      socket.once('close', () => s.connections.delete(socket));
      injector.injectConnection(socket);
    });
    s.listener.on('drop', () => s.dropped());
    const bound = s.listener.address();
    s.address = parsed.unixPath || !bound || typeof bound === 'string' ? address : address.replace(/:\d+$/, `:${bound.port}`);
    try {
      s.firstIndex = s.watcher.start();
      const index = await s.firstIndex;
      await s.labels?.write(index);
      s.labels?.start();
    } catch (e) {
      s.kill();
      throw e;
    }
    s.health.setStatus('', 'SERVING');
    s.health.setStatus(SERVICE_NAME, 'SERVING');
    return s;
  }

  private readonly handle = (call: grpc.ServerUnaryCall<CompatRequest, CompatResponse>, callback: grpc.sendUnaryData<CompatResponse>) => {
    this.inFlight++;
    const request = call.request ?? {};
    // A client that gave up (deadline, cancel, gone) no longer needs the registry fetch made for it;
    // a payload check has no such work, and skips the controller on the hot path.
    const abandoned = request.uri ? new AbortController() : undefined;
    if (abandoned) call.once('cancelled', () => abandoned.abort(new Error('the call was cancelled')));
    this.checker
      .check(request, abandoned?.signal)
      .then((o) => {
        this.checks++;
        callback(null, { status: o.status, compatible: o.compatible, payload: o.payload });
        if (this.logChecks || o.internal) this.logCheck(o, call);
      })
      .catch((e: unknown) => callback({ code: grpc.status.INTERNAL, details: String(e) }))
      .finally(() => this.inFlight--);
  };

  /** One line when the cap is first reached, not one per refused connection (a flood would flood the log). */
  private dropped(): void {
    this.refused++;
    if (this.atCap) return;
    this.atCap = true;
    this.line('error', `${this.maxConnections} connections open: refusing new ones until some close`);
  }

  private logCheck(o: CheckOutcome, call: grpc.ServerUnaryCall<CompatRequest, CompatResponse>): void {
    if (!this.log) return;
    const verdict = o.status === 'SUCCESS' ? (o.compatible ? 'compatible' : 'incompatible') : 'error';
    // The subject (a uri) and the message echoing it come from the caller: escaped and capped.
    const tail = o.error ? ` ${logValue(o.error)}` : '';
    this.line(o.internal ? 'error' : 'info', `check ${logValue(o.subject)} ${verdict} ${o.ms.toFixed(2)} ms${o.cached ? ' cached' : ''} peer=${logValue(call.getPeer())}${tail}`);
  }

  private info(msg: string): void {
    this.line('info', msg);
  }

  private line(level: 'info' | 'error', msg: string): void {
    this.log?.(safeLine(`${new Date().toISOString()} ${level} ${msg}`));
  }

  get pending(): number {
    return this.inFlight;
  }

  /** Checks answered after stop() was called (calls that were in flight then). */
  get drained(): number {
    return this.checksAtStop === undefined ? 0 : this.checks - this.checksAtStop;
  }
  private checksAtStop?: number;

  /**
   * Graceful stop: NOT_SERVING, no new calls, in-flight calls finish; after `graceMs` whatever is
   * left (e.g. open Health.Watch streams) is cut.
   */
  stop(graceMs = DEFAULT_GRACE_MS): Promise<{ forced: boolean }> {
    if (this.stopping) return this.stopping;
    this.health.setStatus('', 'NOT_SERVING');
    this.health.setStatus(SERVICE_NAME, 'NOT_SERVING');
    this.watcher.stop();
    this.labels?.stop();
    this.checksAtStop = this.checks;
    this.info(`shutting down: no new calls, draining those in flight for at most ${(graceMs / 1000).toFixed(1)} s`);
    this.listener?.close();
    this.stopping = new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.cut();
        resolve({ forced: true });
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve({ forced: false });
      });
    });
    return this.stopping;
  }

  /** Stops at once, cutting calls in flight. */
  kill(): void {
    this.watcher.stop();
    this.labels?.stop();
    this.listener?.close();
    this.cut();
  }

  private cut(): void {
    this.server.forceShutdown();
    for (const socket of this.connections) socket.destroy();
  }
}
