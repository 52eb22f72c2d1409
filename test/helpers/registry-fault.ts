import { afterEach } from '@jest/globals';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import type { Writable } from 'node:stream';

/** A tiny HTTP server on 127.0.0.1 playing a (misbehaving) registry; it records every request. */
export interface FakeServer {
  host: string;
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }>;
  /** TCP connections accepted, whether or not a request followed. */
  connections: () => number;
  close(): Promise<void>;
}

export async function startFakeServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<FakeServer> {
  const requests: FakeServer['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => handler(req, res));
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A raw TCP server on 127.0.0.1 for peers that never speak proper HTTP (silent, or trickling headers); it counts connections. */
export interface TcpServer {
  host: string;
  connections: number;
  close(): Promise<void>;
}

export async function startTcpServer(onConnection: (socket: Socket) => void): Promise<TcpServer> {
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  const server = createNetServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes `chunk` to `socket` every `everyMs` until the peer goes away: a peer that is alive but never done. */
export function trickle(socket: Writable & { destroyed: boolean }, chunk: string | Buffer, everyMs: number): void {
  const timer = setInterval(() => {
    if (socket.destroyed) clearInterval(timer);
    else socket.write(chunk);
  }, everyMs);
  socket.on('close', () => clearInterval(timer));
}

/**
 * The fake servers of one test file, each closed after the test that started it: `fake(handler)`
 * starts an HTTP one, `tcp(onConnection)` a raw TCP one.
 */
export function serversClosedAfterEach() {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  const track = <T extends { close(): Promise<void> }>(s: T): T => {
    open.push(s);
    return s;
  };
  return {
    fake: async (handler: (req: IncomingMessage, res: ServerResponse) => void) => track(await startFakeServer(handler)),
    tcp: async (onConnection: (socket: Socket) => void) => track(await startTcpServer(onConnection)),
  };
}
