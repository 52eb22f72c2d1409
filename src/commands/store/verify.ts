import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../cli/base.js';

export default class StoreVerify extends BaseCommand {
  static summary = "Re-hash every blob of the node's store; with --repair, remove bad blobs (fetched again later) and debris of killed processes. Exit 0 sound (or repaired), 1 problems remain, 2 error.";
  static examples = ['<%= config.bin %> store verify', '<%= config.bin %> store verify --repair --json'];
  static flags = {
    repair: Flags.boolean({ description: 'Remove bad blobs, leftovers of killed processes, and tags whose manifest is gone.' }),
    json: Flags.boolean({ description: 'Print the report as JSON.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(StoreVerify);
    const { verifyStore } = await import('../../artifact/store.js');
    const report = await verifyStore({ repair: flags.repair });
    if (flags.json) this.printJson(report);
    else {
      const { renderStoreReport } = await import('../../cli/render-store.js');
      process.stdout.write(renderStoreReport(report, flags.repair));
    }
    if (!report.sound) return this.exit(1);
  }
}
