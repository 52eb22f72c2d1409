import { Command } from '@oclif/core/command';
import * as Flags from '@oclif/core/flags';

/**
 * Every command's error contract: one line naming the file or reference and what is wrong,
 * exit 2, and a stack trace only with --debug.
 */
export abstract class BaseCommand extends Command {
  static baseFlags = {
    debug: Flags.boolean({ description: 'Show stack traces on errors.', helpGroup: 'GLOBAL' }),
  };

  protected async catch(err: Error & { oclif?: { exit?: number }; code?: string }): Promise<unknown> {
    if (err.code === 'EEXIT') throw err;
    const debug = this.argv.includes('--debug') || !!process.env.COMPAT_DEBUG;
    const message = (err.message || String(err)).split('\n')[0]!.replace(/^Error: /, '');
    process.stderr.write(`compat: ${message}\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return this.exit(2);
  }

  protected printJson(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }
}
