import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../cli/base.js';
import { registryFlags, toRegistryFlags } from '../../cli/registry-flags.js';

export default class ManifestFetch extends BaseCommand {
  static summary = 'Print a manifest as the registry stores it (its exact bytes), or its descriptor.';
  static examples = ['<%= config.bin %> manifest fetch registry.example.org/apps/solver:1.2', '<%= config.bin %> manifest fetch --descriptor registry.example.org/apps/solver:1.2'];
  static args = { reference: Args.string({ required: true, description: 'REGISTRY/REPO:TAG or @sha256:… (DIR:TAG with --oci-layout).' }) };
  static flags = {
    ...registryFlags,
    descriptor: Flags.boolean({ description: 'Print the descriptor (mediaType, digest, size) instead of the manifest.' }),
    pretty: Flags.boolean({ description: 'Indent the JSON (the bytes then no longer match the digest).' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ManifestFetch);
    const { fetchManifestOf } = await import('../../artifact/registry-verbs.js');
    const { descriptor, bytes } = await fetchManifestOf(args.reference, toRegistryFlags(flags));
    if (flags.descriptor) return this.out(`${JSON.stringify(descriptor, null, flags.pretty ? 2 : undefined)}\n`);
    await this.out(flags.pretty ? `${JSON.stringify(JSON.parse(bytes.toString('utf8')), null, 2)}\n` : bytes.toString('utf8'));
  }
}
