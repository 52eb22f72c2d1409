import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../cli/base.js';

export default class CacheBuild extends BaseCommand {
  static summary = 'Write the soname → path table the loader would produce on this node for these programs (for `compat run --cache`).';
  static description =
    'Resolves each program (and each shared library named) with the glibc loader\'s rules as it would run here: LD_LIBRARY_PATH as given, RUNPATH and $ORIGIN, ld.so.cache, the glibc-hwcaps subdirectory this CPU takes. Each entry records the file\'s device, inode, size and mtime, so a changed file is searched for again instead of used.';
  static examples = [
    '<%= config.bin %> cache build ./app -o app.cache.json',
    'LD_LIBRARY_PATH=/opt/mpi/lib <%= config.bin %> cache build ./app /usr/lib/python3.11/lib-dynload/*.so -o app.cache.json',
    '<%= config.bin %> record --out run.jsonl -- ./app && <%= config.bin %> cache build --from-trace run.jsonl -o app.cache.json',
  ];
  static strict = false;
  static flags = {
    output: Flags.string({ char: 'o', description: 'Write the table here (default: standard output).' }),
    'ld-library-path': Flags.string({ description: 'The LD_LIBRARY_PATH the programs will run with (default: this shell\'s).' }),
    cwd: Flags.string({ description: 'The directory the programs will run in (relative search entries resolve against it).' }),
    'from-trace': Flags.string({ description: 'A recorded run (compat record): add what the loader found in it, dlopen()ed modules included. Repeatable.', multiple: true, multipleNonGreedy: true }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(CacheBuild);
    const { cacheBuildAction } = await import('../../cli/cache-actions.js');
    const code = await cacheBuildAction(argv as string[], flags);
    if (code !== 0) return this.exit(code);
  }
}
