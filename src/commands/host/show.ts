import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../cli/base.js';
import { repeatable } from '../../cli/repeatable.js';

export default class HostShow extends BaseCommand {
  static summary = 'Show the node\'s library index: every soname, or the candidates for one.';
  static examples = ['<%= config.bin %> host show libc.so.6', '<%= config.bin %> host show --json', '<%= config.bin %> host show --root /host libc.so.6'];
  static args = { soname: Args.string({ description: 'Only this soname.' }) };
  static flags = {
    json: Flags.boolean({ description: 'Print JSON.' }),
    path: repeatable({ description: 'Extra library directories (as given to host scan).' }),
    root: Flags.string({ description: "The index of this root file system (as host scan --root makes it; scanned when missing) instead of the node's." }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(HostShow);
    const { loadOrScan } = await import('../../host/host-index.js');
    const { candidatesBySoname } = await import('../../host/host-show.js');
    const { rootDir } = await import('../../cli/actions.js');
    const root = rootDir(flags.root);
    const { index } = loadOrScan({ extraDirs: flags.path, root });
    const all = candidatesBySoname(index);
    const pick = args.soname ? { [args.soname]: all[args.soname] ?? [] } : all;
    if (args.soname && pick[args.soname]!.length === 0) {
      process.stderr.write(`compat: ${args.soname}: not found ${root ? `in ${root}` : 'on this node'}\n`);
      return this.exit(1);
    }
    if (flags.json) return this.printJson(pick);
    const out: string[] = [];
    for (const [soname, cands] of Object.entries(pick)) {
      for (const c of cands) out.push(`${soname} (${c.machine}, ${c.class}-bit) => ${c.path}${args.soname && c.versions.length ? `\n    versions: ${c.versions.join(' ')}` : ''}`);
    }
    await this.out(`${out.join('\n')}\n`);
  }
}
