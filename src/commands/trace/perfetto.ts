import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../cli/base.js';

export default class TracePerfetto extends BaseCommand {
  static summary = 'Export runs as Chrome trace-event JSON for ui.perfetto.dev: one process per run, open→close slices per fd, loader searches and lookups as instants.';
  static examples = ['<%= config.bin %> trace perfetto run.jsonl -o trace.json'];
  static strict = false;
  static args = { log: Args.string({ required: true }) };
  static flags = { output: Flags.string({ char: 'o', required: true, description: 'Write the trace here.' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(TracePerfetto);
    const { perfettoAction } = await import('../../cli/trace-actions.js');
    await perfettoAction(argv as string[], flags.output);
  }
}
