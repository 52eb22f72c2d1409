/**
 * Every command's error contract: one line naming the file or reference and what is wrong, and a
 * stack trace only with --debug (or COMPAT_DEBUG). The caller exits 2.
 */
export function reportError(err: unknown, debug: boolean): void {
  const e = err as Error;
  const message = headline(e?.message || String(err)).replace(/^Error: /, '');
  process.stderr.write(`compat: ${message}\n`);
  if ((debug || !!process.env.COMPAT_DEBUG) && e?.stack) process.stderr.write(`${e.stack}\n`);
}

/** The line that says what is wrong: oclif puts a bare "Parsing --flag" before the flag's own message. */
function headline(message: string): string {
  const [first, second] = message.split('\n');
  const flag = /^Parsing (--\S+)\s*$/.exec(first!)?.[1];
  return flag && second?.trim() ? `${flag}: ${second.trim()}` : first!;
}

/** A warning the user should see without the run failing: `compat: warning: <subject>: <what>`. */
export function warn(message: string): void {
  process.stderr.write(`compat: warning: ${message}\n`);
}
