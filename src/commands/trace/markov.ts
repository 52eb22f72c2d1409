import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../cli/base.js';

export default class TraceMarkov extends BaseCommand {
  static summary = 'Leave-one-out next-access prediction: a first-order Markov model over normalised paths, trained on the other runs, against the most-frequent-path baseline.';
  static examples = ['<%= config.bin %> trace markov runs/*.jsonl'];
  static strict = false;
  static args = { log: Args.string({ required: true }) };
  static flags = { json: Flags.boolean({ description: 'Print JSON.' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(TraceMarkov);
    const { markovAction } = await import('../../cli/trace-actions.js');
    await markovAction(argv as string[], flags.json);
  }
}
