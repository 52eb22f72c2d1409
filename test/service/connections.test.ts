// `compat serve` against clients that connect and then do nothing: idle connections are closed,
// connections beyond --max-connections are refused at once, and health keeps answering.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { checkHealth } from '../../src/service/client.js';
import { tempDir } from '../helpers/fixtures.js';
import { ensureServeBuilt, type ServerProcess, spawnServer } from './server-process.js';

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

let dir: string;
let env: Record<string, string>;
const servers: ServerProcess[] = [];
const sockets: Socket[] = [];

beforeAll(() => {
  ensureServeBuilt();
  dir = tempDir('compat-conns-');
  env = { XDG_CACHE_HOME: join(dir, 'cache'), XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
});

afterAll(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.kill();
  rmSync(dir, { recursive: true, force: true });
});

let closings = 0;

/** A raw TCP client: what it received from the server, and when (in order among all) it was closed. */
interface Raw {
  socket: Socket;
  received: number;
  /** Resolves with this socket's rank among all closes seen in the test. */
  closed: Promise<number>;
  /** Resolves once the server sent anything (its HTTP/2 SETTINGS: the connection was accepted). */
  greeted: Promise<void>;
  isClosed: () => boolean;
}

async function openRaw(address: string, send: 'preface' | 'nothing'): Promise<Raw> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  const socket = connect(port, host);
  sockets.push(socket);
  socket.on('error', () => {});
  let done = false;
  const raw: Raw = {
    socket,
    received: 0,
    closed: new Promise((resolve) => socket.once('close', () => ((done = true), resolve(++closings)))),
    greeted: new Promise((resolve) => socket.once('data', () => resolve())),
    isClosed: () => done,
  };
  socket.on('data', (d: Buffer) => (raw.received += d.length));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  if (send === 'preface') socket.write(PREFACE);
  return raw;
}

/** Waits for `p`, failing with `label` after `ms` (a deadline on an event, not a sleep). */
function within<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`${label}: not within ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

describe('compat serve closes what it does not need to keep', () => {
  it('closes connections that sent only the HTTP/2 preface, or nothing, after --idle-timeout', async () => {
    const srv = await spawnServer(['--idle-timeout', '1', '--max-connections', '64', '--quiet'], env);
    servers.push(srv);
    const raws = [...(await Promise.all(Array.from({ length: 5 }, () => openRaw(srv.address, 'preface')))), ...(await Promise.all(Array.from({ length: 5 }, () => openRaw(srv.address, 'nothing'))))];
    // Both kinds were accepted (the server spoke first), then closed by the server.
    await within(Promise.all(raws.map((r) => r.greeted)), 10_000, 'the server greeting each connection');
    await within(Promise.all(raws.map((r) => r.closed)), 15_000, 'the idle connections being closed');
    expect(await checkHealth(srv.address)).toBe('SERVING');
    srv.proc.kill('SIGTERM');
    expect((await srv.exited(8000)).code).toBe(0);
  });

  it('refuses connections beyond --max-connections at once; health answers again once idle ones are reaped', async () => {
    const srv = await spawnServer(['--idle-timeout', '3', '--max-connections', '8', '--quiet'], env);
    servers.push(srv);
    const held = await Promise.all(Array.from({ length: 8 }, () => openRaw(srv.address, 'preface')));
    await within(Promise.all(held.map((r) => r.greeted)), 10_000, 'the server greeting each connection');
    const surplus = await openRaw(srv.address, 'preface');
    const rank = await within(surplus.closed, 10_000, 'the surplus connection being refused');
    // Refused, not served then reaped: it was never greeted, and it closed while the others were open.
    expect(surplus.received).toBe(0);
    expect(held.filter((r) => r.isClosed())).toHaveLength(0);
    const ranks = await within(Promise.all(held.map((r) => r.closed)), 20_000, 'the idle connections being closed');
    expect(Math.min(...ranks)).toBeGreaterThan(rank);
    expect(await checkHealth(srv.address)).toBe('SERVING');
    srv.proc.kill('SIGTERM');
    expect((await srv.exited(8000)).code).toBe(0);
  });

  it('a bad --max-connections or --idle-timeout: one line, exit 2', async () => {
    const err = await spawnServer(['--idle-timeout', 'never'], env, 10000).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/server exited \(2\)[\s\S]*--idle-timeout never: expected a number of seconds/);
    const err2 = await spawnServer(['--max-connections', '0'], env, 10000).catch((e: Error) => e);
    expect((err2 as Error).message).toMatch(/server exited \(2\)[\s\S]*max-connections/);
  });
});
