import { Command } from '@oclif/core/command';
import * as Flags from '@oclif/core/flags';
import { printJson, reportError } from './errors.js';

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
    reportError(err, this.argv.includes('--debug'));
    return this.exit(2);
  }

  protected printJson(value: unknown): void {
    printJson(value);
  }
}
