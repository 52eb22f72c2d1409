/**
 * Commands that run another command (`compat run`, like `strace` or `env`) take their own flags
 * first and the command after them, with or without `--`. oclif's non-strict parsing reorders
 * the command's own arguments, so the line is split here and oclif sees only compat's part.
 */
export function splitCommand(argv: string[], valueFlags: readonly string[]): { own: string[]; command: string[] } {
  const dash = argv.indexOf('--');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (i === dash) return { own: argv.slice(0, i), command: argv.slice(i + 1) };
    if (!a.startsWith('-') || a === '-') return { own: argv.slice(0, i), command: argv.slice(i) };
    if (valueFlags.includes(a)) i++;
  }
  return { own: argv, command: [] };
}

/** The words that take a value among oclif flag definitions: `--name` and `-c` of every non-boolean flag. */
export function valueFlagWords(flags: Record<string, { type: string; char?: string }>): string[] {
  return Object.entries(flags)
    .filter(([, f]) => f.type !== 'boolean')
    .flatMap(([name, f]) => [`--${name}`, ...(f.char ? [`-${f.char}`] : [])]);
}
