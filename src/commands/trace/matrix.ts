import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../cli/base.js';

export default class TraceMatrix extends BaseCommand {
  static summary = 'Pairwise Levenshtein distances between runs (normalised access sequences): a table, CSV, JSON, and an SVG heat map.';
  static examples = ['<%= config.bin %> trace matrix logs/*.jsonl --svg matrix.svg'];
  static strict = false;
  static args = { log: Args.string({ required: true }) };
  static flags = {
    csv: Flags.boolean({ description: 'Print CSV instead of the table.' }),
    json: Flags.boolean({ description: 'Print JSON instead of the table.' }),
    svg: Flags.string({ description: 'Also write an SVG heat map to this file.' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(TraceMatrix);
    const { matrixAction } = await import('../../cli/trace-actions.js');
    await matrixAction(argv as string[], flags);
  }
}
