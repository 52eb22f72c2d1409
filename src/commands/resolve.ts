import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';

export default class Resolve extends BaseCommand {
  static summary = 'Print the digest a tag (or digest) names.';
  static examples = ['<%= config.bin %> resolve registry.example.org/apps/solver:1.2'];
  static args = { reference: Args.string({ required: true, description: 'REGISTRY/REPO:TAG or @sha256:… (DIR:TAG with --oci-layout).' }) };
  static flags = { ...registryFlags, json: Flags.boolean({ description: 'Print the descriptor as JSON.' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Resolve);
    const { resolveReference } = await import('../artifact/registry-verbs.js');
    const d = await resolveReference(args.reference, toRegistryFlags(flags));
    if (flags.json) return this.printJson({ reference: args.reference, ...d });
    await this.out(`${d.digest}\n`);
  }
}
