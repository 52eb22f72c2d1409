import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { TraceError } from './errors.js';

/**
 * Runs a command the way `record` and `run` hand a terminal to it: stdio passed through, the exit
 * code a shell would report (128 + the signal that ended it), and a signal sent to compat alone
 * passed on (the terminal's ^C already reaches the whole process group).
 */
export function runPassingThrough(file: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; argv0?: string }): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, { stdio: 'inherit', env: opts.env, cwd: opts.cwd, argv0: opts.argv0 });
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const).map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    const done = () => {
      for (const [s, h] of handlers) process.off(s, h);
    };
    child.on('error', (e) => {
      done();
      reject(new TraceError(file, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'cannot run it: no such file' : `cannot run it: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      done();
      resolvePromise(code ?? 128 + (signal ? (osConstants.signals as Record<string, number>)[signal] ?? 0 : 0));
    });
  });
}
