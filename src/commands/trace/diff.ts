import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../cli/base.js';

export default class TraceDiff extends BaseCommand {
  static summary = 'Compare two runs: objects added, removed, moved or changed; then the access sequences (Levenshtein edit script, Smith-Waterman local alignment) on normalised paths.';
  static examples = ['<%= config.bin %> trace diff before.jsonl after.jsonl'];
  static args = { a: Args.string({ required: true }), b: Args.string({ required: true }) };
  static flags = { json: Flags.boolean({ description: 'Print JSON.' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TraceDiff);
    const { diffAction } = await import('../../cli/trace-actions.js');
    await diffAction(args.a, args.b, flags.json);
  }
}
