import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';

export default class Tag extends BaseCommand {
  static summary = 'Point one or more new tags at the manifest a reference names.';
  static examples = ['<%= config.bin %> tag registry.example.org/apps/solver:1.2 stable 1'];
  static strict = false;
  static args = {
    reference: Args.string({ required: true, description: 'REGISTRY/REPO:TAG or @sha256:… (DIR:TAG with --oci-layout).' }),
    tags: Args.string({ required: true, description: 'The new tags (several may follow).' }),
  };
  static flags = { ...registryFlags, json: Flags.boolean({ description: 'Print the result as JSON.' }) };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(Tag);
    const tags = (argv as string[]).slice(1);
    const { tagReference } = await import('../artifact/registry-verbs.js');
    const d = await tagReference(args.reference, tags, toRegistryFlags(flags));
    if (flags.json) return this.printJson({ reference: args.reference, digest: d.digest, tags });
    await this.out(`Tagged ${tags.join(', ')}\nDigest: ${d.digest}\n`);
  }
}
