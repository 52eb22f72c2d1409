import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';

export default class Deps extends BaseCommand {
  static summary = 'Print the libraries a binary loads, resolved by the glibc loader\'s rules (like ldd, without running it).';
  static examples = ['<%= config.bin %> deps /usr/bin/curl', '<%= config.bin %> deps --json ./app'];
  static args = { binary: Args.string({ required: true, description: 'ELF executable or shared library.' }) };
  static flags = {
    json: Flags.boolean({ description: 'Print JSON: every library with soname and path.' }),
    root: Flags.string({ description: 'Resolve inside this root file system as if it were /.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Deps);
    const { dependencyReport, renderTree } = await import('../host/deps.js');
    const report = dependencyReport(args.binary, { root: flags.root, ldLibraryPath: process.env.LD_LIBRARY_PATH });
    if (flags.json) this.printJson(report);
    else process.stdout.write(renderTree(report));
    if (report.missing.length > 0 || report.linkage === 'static') return this.exit(report.missing.length > 0 ? 1 : 0);
  }
}
