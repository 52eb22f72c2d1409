import { CompatServer, DEFAULT_GRACE_MS, type ServeOptions } from './server.js';

export interface DaemonOptions extends ServeOptions {
  /** How long SIGTERM/SIGINT wait for in-flight calls before cutting them. */
  graceMs?: number;
  /** Called once the server answers SERVING, with the bound address. */
  onReady?: (address: string) => void;
}

/**
 * Runs `compat serve` until SIGTERM or SIGINT: then drains (tryShutdown), cuts what is left after
 * the grace period, and resolves. A second signal cuts at once.
 */
export async function runDaemon(opts: DaemonOptions): Promise<{ forced: boolean; checks: number; drained: number }> {
  const server = await CompatServer.start(opts);
  opts.onReady?.(server.address);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const again = () => server.kill();
  process.once('SIGTERM', again);
  process.once('SIGINT', again);
  opts.log?.(`${new Date().toISOString()} info ${signal} received`);
  const { forced } = await server.stop(opts.graceMs ?? DEFAULT_GRACE_MS);
  opts.log?.(`${new Date().toISOString()} info stopped after ${server.checks} check(s), ${server.drained} answered while draining${forced ? '; calls still open after the grace period were cut' : ''}`);
  return { forced, checks: server.checks, drained: server.drained };
}
