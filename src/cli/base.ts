import { Command } from '@oclif/core/command';
import * as Flags from '@oclif/core/flags';
import type { Input, ParserOutput } from '@oclif/core/interfaces';
import { reportError, warn } from './errors.js';
import { out, printJson } from './output.js';
import { usageLine } from './usage.js';

// oclif's own shapes of parsed flags and args (not exported by its interfaces entry).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type FlagOutput = { [name: string]: any };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ArgOutput = { [name: string]: any };

/**
 * Every command's error contract: one line naming the file or reference and what is wrong,
 * exit 2, and a stack trace only with --debug.
 */
export abstract class BaseCommand extends Command {
  static baseFlags = {
    debug: Flags.boolean({ description: 'Show stack traces on errors.', helpGroup: 'GLOBAL' }),
  };

  protected async parse<F extends FlagOutput, B extends FlagOutput, A extends ArgOutput>(options?: Input<F, B, A>, argv?: string[]): Promise<ParserOutput<F, B, A>> {
    const input = options ?? (this.ctor as unknown as Input<F, B, A>);
    // A missing argument is never read from a piped stdin (oclif's default): that stdin may hold a password.
    const args = Object.fromEntries(Object.entries(input.args ?? {}).map(([name, a]) => [name, { ...a, ignoreStdin: true }])) as Input<F, B, A>['args'];
    const flags = { ...input.baseFlags, ...input.flags } as Record<string, { type: string; allowNo?: boolean }>;
    const booleans = new Map(Object.entries(flags).filter(([, f]) => f.type === 'boolean'));
    const parsed = await super.parse({ ...input, baseFlags: input.baseFlags, enableJsonFlag: input.enableJsonFlag, args }, booleanAssignments(argv ?? this.argv, booleans));
    if (process.env.COMPAT_ECHO_PARSE) {
      const { echoParse } = await import('./echo-parse.js');
      const given = Object.fromEntries(Object.entries(parsed.flags).filter(([name]) => !parsed.metadata.flags[name]?.setFromDefault));
      echoParse('oclif', this.id ?? '', parsed.argv, given);
      return this.exit(0);
    }
    warnTypedPassword(parsed);
    return parsed;
  }

  protected async catch(err: Error & { oclif?: { exit?: number }; code?: string }): Promise<unknown> {
    if (err.code === 'EEXIT') throw err;
    const usage = usageLine(err, (this.id ?? '').replace(/:/g, ' '));
    if (usage) err.message = usage;
    reportError(err, this.argv.includes('--debug'));
    return this.exit(2);
  }

  /** Output goes through one writer: a failed write is exit 2, a reader that left is quiet. */
  protected printJson(value: unknown): Promise<void> {
    return printJson(value);
  }

  protected out(text: string): Promise<void> {
    return out(text);
  }
}

/** `--plain-http=false` (as ORAS, and Go's flag package, take any boolean) in oclif's words: `--no-plain-http`. */
function booleanAssignments(argv: string[], booleans: Map<string, { allowNo?: boolean }>): string[] {
  const end = argv.indexOf('--');
  return argv.flatMap((a, i) => {
    const m = /^--([^=]+)=(true|false)$/.exec(a);
    const flag = m && (end < 0 || i < end) ? booleans.get(m[1]!) : undefined;
    if (!m || !flag) return [a];
    if (m[2] === 'true') return [`--${m[1]}`];
    return flag.allowNo ? [`--no-${m[1]}`] : [];
  });
}

/**
 * A password typed on the command line (`-p`, `--password`; not COMPAT_PASSWORD, which is no
 * argument) stays in shell history and in the process list: said once, as ORAS does. With
 * --password-stdin too, the command refuses the pair instead, in one line of its own.
 */
function warnTypedPassword(parsed: { raw: ParserOutput['raw']; flags: FlagOutput }): void {
  const typed = parsed.raw.some((t) => t.type === 'flag' && t.flag === 'password');
  if (typed && !parsed.flags['password-stdin']) warn('-p/--password: the password may land in shell history and is visible to other users of this machine; prefer --password-stdin');
}
