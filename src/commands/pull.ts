import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';

export default class Pull extends BaseCommand {
  static summary = "Pull an artifact into the node's store (an OCI layout under $XDG_DATA_HOME/compat) and, with -o, its files into a directory.";
  static examples = ['<%= config.bin %> pull registry.example.org/apps/xz:compat', '<%= config.bin %> pull registry.example.org/apps/data:v1 -o ./data'];
  static args = { reference: Args.string({ required: true, description: 'REGISTRY/REPO:TAG or @sha256:… (or DIR:TAG with --oci-layout).' }) };
  static flags = {
    ...registryFlags,
    output: Flags.string({ char: 'o', description: 'Write the artifact\'s files into this directory.' }),
    json: Flags.boolean({ description: 'Print the result as JSON.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Pull);
    const { pullToStore } = await import('../artifact/transfer.js');
    const { progressBars } = await import('../cli/progress.js');
    const bars = await progressBars({ done: 'Downloaded' });
    try {
      const r = await pullToStore(args.reference, { ...toRegistryFlags(flags), concurrency: flags.concurrency, onProgress: bars.onProgress, onEvent: bars.onEvent, outDir: flags.output });
      bars.stop();
      if (flags.json) await this.printJson({ ...r.summary, store: r.store.name, fromStore: r.fromStore, skipped: r.skipped });
      else {
        const wrote = r.files.map((f) => `Wrote ${f}\n`).join('');
        const skipped = r.skipped.map((s) => `Skipped ${s.digest.slice(0, 19)}: ${s.reason}\n`).join('');
        await this.out(`Pulled ${args.reference}${r.fromStore ? ' (from the store)' : ''}\nDigest: ${r.descriptor.digest}\n${wrote}${skipped}`);
      }
    } finally {
      bars.stop();
    }
  }
}
