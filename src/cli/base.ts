import { Command } from '@oclif/core/command';
import * as Flags from '@oclif/core/flags';
import { reportError } from './errors.js';
import { out, printJson } from './output.js';

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

  /** Output goes through one writer: a failed write is exit 2, a reader that left is quiet. */
  protected printJson(value: unknown): Promise<void> {
    return printJson(value);
  }

  protected out(text: string): Promise<void> {
    return out(text);
  }
}
