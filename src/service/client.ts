import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import type { CheckReport } from '../host/check.js';
import { type CompatRequest, compatClientConstructor, type CompatResponse, type ResultType } from './proto.js';

export type { CompatRequest, CompatResponse, ResultType };

export interface ClientOptions {
  /** Per-call deadline (default 30 s: a `uri` may pull from a registry first). */
  timeoutMs?: number;
  /** Largest request this client sends (default: gRPC's, unlimited; the server enforces its own). */
  maxSendBytes?: number;
}

/** A transport failure (server down, deadline, refused as too large): one line naming the address. */
export class RemoteError extends Error {
  readonly expose = true;
  constructor(
    readonly address: string,
    readonly code: grpc.status | undefined,
    detail: string,
  ) {
    super(`${address}: ${detail}`);
    this.name = 'RemoteError';
  }
}

/** The server ran no check (status ERROR or DENIED): its message, e.g. `payload: not valid JSON (…)`. */
export class RemoteCheckError extends Error {
  readonly expose = true;
  constructor(
    readonly status: ResultType,
    message: string,
  ) {
    super(message);
    this.name = 'RemoteCheckError';
  }
}

/** grpc-js takes `unix:` addresses as they are and HOST:PORT without a scheme. */
function target(address: string): string {
  return address.trim();
}

type RawClient = grpc.Client & {
  CheckCompatibility(req: CompatRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: CompatResponse) => void): grpc.ClientUnaryCall;
};

/** One channel to a `compat serve`; reuse it for many calls, close it when done. */
export class CompatClient {
  private readonly raw: RawClient;

  constructor(
    readonly address: string,
    private readonly opts: ClientOptions = {},
  ) {
    const Ctor = compatClientConstructor();
    this.raw = new Ctor(target(address), grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      // Per-call bookkeeping a check does not need: channelz tracing, and buffering for retries.
      'grpc.enable_channelz': 0,
      'grpc.enable_retries': 0,
      ...(opts.maxSendBytes ? { 'grpc.max_send_message_length': opts.maxSendBytes } : {}),
    }) as unknown as RawClient;
  }

  /** One CheckCompatibility call. Resolves with the server's Response; rejects with RemoteError. */
  check(req: CompatRequest, timeoutMs = this.opts.timeoutMs ?? 30000): Promise<CompatResponse> {
    return new Promise((resolve, reject) => {
      this.raw.CheckCompatibility({ payload: req.payload ?? '', uri: req.uri ?? '' }, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(new RemoteError(this.address, err.code, describe(err)));
        else resolve({ status: res?.status ?? 'UNSPECIFIED', compatible: !!res?.compatible, payload: res?.payload ?? '' });
      });
    });
  }

  close(): void {
    this.raw.close();
  }
}

function describe(err: grpc.ServiceError): string {
  const name = grpc.status[err.code] ?? String(err.code);
  const detail = err.details || err.message;
  if (err.code === grpc.status.UNAVAILABLE) return `server unavailable (${detail})`;
  if (err.code === grpc.status.DEADLINE_EXCEEDED) return 'no answer before the deadline';
  if (err.code === grpc.status.RESOURCE_EXHAUSTED) return `request refused as too large (${detail})`;
  return `${name}: ${detail}`;
}

/**
 * One check against a `compat serve` at `address` (`HOST:PORT` or `unix:///path.sock`): send a
 * spec's text as `payload` or a registry reference as `uri`. Resolves with the wire Response as it
 * came (`status` SUCCESS with `compatible` and the JSON report in `payload`, or ERROR with the
 * message in `payload`); rejects with RemoteError when the server cannot be reached or refuses the call.
 */
export async function checkRemote(address: string, req: CompatRequest, opts: ClientOptions = {}): Promise<CompatResponse> {
  const c = new CompatClient(address, opts);
  try {
    return await c.check(req);
  } finally {
    c.close();
  }
}

export interface ReportOptions extends ClientOptions {
  /**
   * What the caller calls the spec (e.g. its file name): the server names a payload `payload` in
   * its messages, and this puts the caller's name back, so messages read as a local check's do.
   */
  source?: string;
}

/** The remote check as the local one reports it: the CheckReport, or an exposed Error (exit 2) for ERROR/DENIED. */
export async function checkRemoteReport(address: string, req: CompatRequest, opts: ReportOptions = {}): Promise<CheckReport> {
  const res = await checkRemote(address, req, opts);
  if (res.status !== 'SUCCESS') {
    const msg = res.payload || `${address}: answered ${res.status} with no message`;
    throw new RemoteCheckError(res.status, opts.source && msg.startsWith('payload: ') ? `${opts.source}: ${msg.slice('payload: '.length)}` : msg);
  }
  try {
    return JSON.parse(res.payload) as CheckReport;
  } catch {
    throw new RemoteError(address, undefined, 'answered SUCCESS with a payload that is not a JSON report');
  }
}

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** grpc.health.v1.Health/Check: the serving status of `service` ('' = the whole server). */
export function checkHealth(address: string, service = '', timeoutMs = 5000): Promise<ServingStatus> {
  const Ctor = grpc.makeGenericClientConstructor(healthService as grpc.ServiceDefinition, 'Health');
  const c = new Ctor(target(address), grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    check(req: { service: string }, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: ServingStatus }) => void): void;
  };
  return new Promise<ServingStatus>((resolve, reject) => {
    c.check({ service }, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      c.close();
      if (err) reject(new RemoteError(address, err.code, describe(err)));
      else resolve(res?.status ?? 'UNKNOWN');
    });
  });
}
