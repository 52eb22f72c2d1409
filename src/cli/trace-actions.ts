/** The bodies of `record`, `trace …` and `gen --from-trace/--run`; each returns the exit code. */
import type { Backend, EventSet } from '../trace/events.js';
import { warn } from './errors.js';

export async function recordAction(command: string[], flags: { out?: string; outDir?: string; events: EventSet; backend: Backend }): Promise<number> {
  const { recordRun } = await import('../trace/record.js');
  const r = await recordRun({ command, out: flags.out, outDir: flags.outDir, events: flags.events, backend: flags.backend });
  if (r.processes === 0) warn(`${command[0]}: no process was recorded (a static or setuid program, or one that clears its environment?); try --backend strace`);
  return r.exit;
}
