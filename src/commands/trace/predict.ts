import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../cli/base.js';

export default class TracePredict extends BaseCommand {
  static summary = 'What the resolver predicts for a binary (or a spec on this node) against what a recorded run loaded, field by field (LoadTrace).';
  static examples = ['<%= config.bin %> trace predict /usr/bin/python3 run.jsonl'];
  static args = { subject: Args.string({ required: true, description: 'ELF binary or compat spec.' }), log: Args.string({ required: true }) };
  static flags = { json: Flags.boolean({ description: 'Print JSON.' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TracePredict);
    const { predictAction } = await import('../../cli/trace-actions.js');
    await predictAction(args.subject, args.log, flags.json);
  }
}
