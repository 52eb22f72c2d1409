/**
 * COMPAT_ECHO_PARSE=1: print what the command line parsed to, as JSON, and run nothing. The fast
 * entry and oclif each print through here, so that a test can hold their parsers to one answer
 * on every flag (test/cli/flag-parity.test.ts).
 */
export function echoParse(entry: 'fast' | 'oclif', command: string, positionals: unknown[], flags: Record<string, unknown>): void {
  const given = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  process.stdout.write(`${JSON.stringify({ entry, command, positionals, flags: given })}\n`);
}
