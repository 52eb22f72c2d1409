import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';

export default class Check extends BaseCommand {
  static summary = 'Will this application run on this node? Exit 0 compatible, 1 incompatible, 2 error.';
  static examples = ['<%= config.bin %> check app.compat.json', '<%= config.bin %> check --json app.compat.json'];
  static args = { spec: Args.string({ required: true, description: 'A compat spec file (or the legacy {version, attributes} format).' }) };
  static flags = {
    json: Flags.boolean({ description: 'Print the report as JSON.' }),
    path: Flags.string({ multiple: true, description: 'Extra library directories the node provides (indexed with the rest).' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Check);
    const { checkSpecFile } = await import('../artifact/check-spec.js');
    const { renderReport } = await import('../cli/render.js');
    const report = checkSpecFile(args.spec, { extraDirs: flags.path, ldLibraryPath: process.env.LD_LIBRARY_PATH });
    if (flags.json) this.printJson(report);
    else process.stdout.write(renderReport(args.spec, report));
    if (!report.compatible) return this.exit(1);
  }
}
