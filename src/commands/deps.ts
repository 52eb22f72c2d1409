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
    cwd: Flags.string({ description: 'The directory the program will run in (relative search entries resolve against it; default: the current directory).' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Deps);
    const { depsAction } = await import('../cli/actions.js');
    const code = await depsAction(args.binary, flags);
    if (code !== 0) return this.exit(code);
  }
}
