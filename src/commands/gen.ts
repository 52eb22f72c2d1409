import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { repeatable } from '../cli/repeatable.js';

export default class Gen extends BaseCommand {
  static summary = 'Describe binaries, a directory tree or a root file system as a compat spec (reads ELF headers; runs nothing).';
  static examples = ['<%= config.bin %> gen /usr/bin/xz', '<%= config.bin %> gen ./app -o app.compat.json', '<%= config.bin %> gen --root ./rootfs -o rootfs.compat.json'];
  static strict = false;
  static args = { path: Args.string({ description: 'ELF binaries, scripts or directories to describe.' }) };
  static flags = {
    output: Flags.string({ char: 'o', description: 'Write the spec to this file (atomically) instead of stdout.' }),
    root: Flags.string({ description: 'An unpacked root file system: resolve inside it as if it were /.' }),
    name: Flags.string({ description: 'Name recorded in the spec (default: the executable or directory name).' }),
    'skip-unreadable': Flags.boolean({ description: 'Describe a tree even if some files in it cannot be read (each is still named in a warning). Without it, such a tree is an error.' }),
    'from-trace': repeatable({ description: 'A recorded run (compat record): describe the program it ran (or the PATHs given) and every object it dlopen()ed, marked loadedAt: runtime. Repeatable.' }),
    run: Flags.boolean({ description: 'Run the command after -- under the recorder and describe it with what it dlopen()ed (as gen --from-trace).', exclusive: ['from-trace', 'root'] }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Gen);
    const paths = argv as string[];
    if (flags.run) {
      if (paths.length === 0) this.error('give the command to run after --, e.g. compat gen --run -- ./app', { exit: 2 });
      const { genRunAction } = await import('../cli/trace-actions.js');
      return void (await genRunAction(paths, flags));
    }
    if (flags['from-trace']) {
      const { genFromTraceAction } = await import('../cli/trace-actions.js');
      return void (await genFromTraceAction(flags['from-trace'], paths, flags));
    }
    if (paths.length === 0 && !flags.root) this.error('give a binary or directory to describe (or --root DIR)', { exit: 2 });
    const { genAction } = await import('../cli/actions.js');
    await genAction(paths, flags);
  }
}
