import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../cli/base.js';

export default class TraceSummary extends BaseCommand {
  static summary = 'What a recorded run loaded (and how each object was found), the files it opened, counts, time to main.';
  static examples = ['<%= config.bin %> trace summary run.jsonl'];
  static strict = false;
  static args = { log: Args.string({ required: true, description: 'Trace logs (compat record, or the prototype\'s fs-record).' }) };
  static flags = { json: Flags.boolean({ description: 'Print JSON.' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(TraceSummary);
    const { summaryAction } = await import('../../cli/trace-actions.js');
    await summaryAction(argv as string[], flags.json);
  }
}
