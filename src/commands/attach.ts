import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';

export default class Attach extends BaseCommand {
  static summary = 'Attach a compat spec to an image (an artifact whose subject is the image, found through referrers).';
  static examples = ['<%= config.bin %> attach registry.example.org/apps/solver:1.2 solver.compat.json'];
  static args = {
    subject: Args.string({ required: true, description: 'The image: REGISTRY/REPO:TAG or @sha256:….' }),
    spec: Args.string({ required: true, description: 'The compat spec file.' }),
  };
  static flags = { ...registryFlags, json: Flags.boolean({ description: 'Print JSON.' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Attach);
    const { attachSpec } = await import('../artifact/transfer.js');
    const r = await attachSpec(args.subject, args.spec, toRegistryFlags(flags));
    if (flags.json) await this.printJson({ subject: r.subject.digest, digest: r.descriptor.digest });
    else await this.out(`Attached to ${args.subject} (${r.subject.digest})\nDigest: ${r.descriptor.digest}\n`);
  }
}
