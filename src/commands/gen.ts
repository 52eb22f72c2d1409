import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { repeatable } from '../cli/repeatable.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';

export default class Gen extends BaseCommand {
  static summary = 'Describe binaries, a directory tree, a root file system or a container image as a compat spec (reads ELF headers; runs nothing).';
  static examples = [
    '<%= config.bin %> gen /usr/bin/xz',
    '<%= config.bin %> gen ./app -o app.compat.json',
    '<%= config.bin %> gen --root ./rootfs -o rootfs.compat.json',
    '<%= config.bin %> gen --image registry.example.org/apps/solver:1.2 --platform linux/amd64 -o solver.compat.json',
  ];
  static strict = false;
  static args = { path: Args.string({ description: 'ELF binaries, scripts or directories to describe.' }) };
  static flags = {
    ...registryFlags,
    output: Flags.string({ char: 'o', description: 'Write the spec to this file (atomically) instead of stdout.' }),
    root: Flags.string({ description: 'An unpacked root file system: resolve inside it as if it were /.', exclusive: ['image'] }),
    image: Flags.string({ description: 'A container image (REF, or DIR[:tag|@digest] with --oci-layout): its layers are applied into a temporary root, described as --root describes one (with its loader configuration), and removed.' }),
    platform: Flags.string({ description: "With --image naming an index: the platform (OS/ARCH[/VARIANT]) to describe (default: this machine's)." }),
    name: Flags.string({ description: 'Name recorded in the spec (default: the executable or directory name).' }),
    'skip-unreadable': Flags.boolean({ description: 'Describe a tree even if some files in it cannot be read (each is still named in a warning). Without it, such a tree is an error.' }),
    'from-trace': repeatable({ description: 'A recorded run (compat record): describe the program it ran (or the PATHs given) and every object it dlopen()ed, marked loadedAt: runtime. Repeatable.' }),
    run: Flags.boolean({ description: 'Run the command after -- under the recorder and describe it with what it dlopen()ed (as gen --from-trace).', exclusive: ['from-trace', 'root'] }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Gen);
    const paths = argv as string[];
    if (flags.image !== undefined) {
      if (paths.length > 0) this.error('--image describes the whole image: give no paths with it', { exit: 2 });
      const { genImageAction } = await import('../cli/actions.js');
      await genImageAction(flags.image, { ...flags, registry: { ...toRegistryFlags(flags), platform: flags.platform } });
      return;
    }
    if (flags.platform !== undefined) this.error('--platform: only with --image', { exit: 2 });
    if (flags.run) {
      if (paths.length === 0) this.error('give the command to run after --, e.g. compat gen --run -- ./app', { exit: 2 });
      const { genRunAction } = await import('../cli/trace-actions.js');
      return void (await genRunAction(paths, flags));
    }
    if (flags['from-trace']) {
      const { genFromTraceAction } = await import('../cli/trace-actions.js');
      return void (await genFromTraceAction(flags['from-trace'], paths, flags));
    }
    if (paths.length === 0 && !flags.root) this.error('give a binary or directory to describe (or --root DIR, or --image REF)', { exit: 2 });
    const { genAction } = await import('../cli/actions.js');
    await genAction(paths, flags);
  }
}
