import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../cli/base.js';
import { registryFlags, toRegistryFlags } from '../../cli/registry-flags.js';

export default class CacheEnv extends BaseCommand {
  static summary = 'Write the audit module\'s table for a location cache and print the environment that makes the loader use it (for job launchers: no compat process per rank).';
  static description =
    'Prints `export LD_AUDIT=… COMPAT_CACHE_TABLE=…` lines for a shell (`eval "$(compat cache env …)"`), or KEY=VALUE lines with --format env (srun --export, mpirun -x). Each rank then starts with the table as `compat run` would start it, without compat\'s own start-up. LD_AUDIT already set is kept in front.';
  static examples = ['eval "$(<%= config.bin %> cache env app.cache.json -o /shared/app.table)"; srun ./app'];
  static args = { cache: Args.string({ required: true, description: 'The table from `compat cache build` (a file, or a reference to it).' }) };
  static flags = {
    ...registryFlags,
    output: Flags.string({ char: 'o', required: true, description: 'Where to write the module\'s table (every rank must be able to read it).' }),
    format: Flags.string({ options: ['sh', 'env'], default: 'sh', description: 'sh: export lines for eval; env: KEY=VALUE lines.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(CacheEnv);
    const { cacheEnvAction } = await import('../../cli/cache-actions.js');
    await cacheEnvAction(args.cache, { output: flags.output, format: flags.format as 'sh' | 'env', registry: toRegistryFlags(flags) });
  }
}
