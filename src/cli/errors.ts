/**
 * Every command's error contract: one line naming the file or reference and what is wrong, and a
 * stack trace only with --debug (or COMPAT_DEBUG). The caller exits 2.
 */
export function reportError(err: unknown, debug: boolean): void {
  const e = err as Error;
  const message = (e?.message || String(err)).split('\n')[0]!.replace(/^Error: /, '');
  process.stderr.write(`compat: ${message}\n`);
  if ((debug || !!process.env.COMPAT_DEBUG) && e?.stack) process.stderr.write(`${e.stack}\n`);
}

/** A warning the user should see without the run failing: `compat: warning: <subject>: <what>`. */
export function warn(message: string): void {
  process.stderr.write(`compat: warning: ${message}\n`);
}
