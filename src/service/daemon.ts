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
  // One listener per signal for the daemon's whole life: a library that re-raises a signal when it
  // thinks it is the last listener (signal-exit, under proper-lockfile) must never see a gap.
  let received: NodeJS.Signals | undefined;
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      if (received) return server.kill();
      received = sig;
      resolve(sig);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  opts.log?.(`${new Date().toISOString()} info ${signal} received`);
  const { forced } = await server.stop(opts.graceMs ?? DEFAULT_GRACE_MS);
  opts.log?.(`${new Date().toISOString()} info stopped after ${server.checks} check(s), ${server.drained} answered while draining${forced ? '; calls still open after the grace period were cut' : ''}`);
  return { forced, checks: server.checks, drained: server.drained };
}
