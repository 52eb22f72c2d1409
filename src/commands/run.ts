import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';

export default class Run extends BaseCommand {
  static summary = 'Run a command with the loader answered from a location cache: no library search where the table knows the file.';
  static description =
    'Exit code, standard output and standard error are the command\'s. A name the table does not know, a file changed since `compat cache build`, or another LD_LIBRARY_PATH fall back to the loader\'s own search, so nothing loads that would not have loaded without the cache.';
  static examples = ['<%= config.bin %> run --cache app.cache.json -- ./app --input data', '<%= config.bin %> run --cache registry.example.org/apps/app:cache -- ./app', '<%= config.bin %> run --cache app.cache.json --stats -- mpirun -n 4 ./app'];
  static strict = false;
  static flags = {
    ...registryFlags,
    cache: Flags.string({ description: 'The table from `compat cache build`: a file, or a reference to it pushed to a registry or OCI layout.' }),
    stats: Flags.boolean({ description: 'Print on stderr what the table answered and what fell back to a search.' }),
  };

  async run(): Promise<void> {
    const { splitCommand, valueFlagWords } = await import('../cli/command-line.js');
    const { own, command } = splitCommand(this.argv, valueFlagWords({ ...Run.baseFlags, ...Run.flags }));
    const { flags } = await this.parse(Run, own);
    const { runAction } = await import('../cli/cache-actions.js');
    const code = await runAction(command, { ...flags, registry: toRegistryFlags(flags) });
    return this.exit(code);
  }
}
