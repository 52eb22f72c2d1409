import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';
import { repeatable } from '../cli/repeatable.js';

export default class Push extends BaseCommand {
  static summary = 'Push a compat spec (or an ELF binary, described on the fly, or any files ORAS-style) to a registry or OCI layout.';
  static examples = [
    '<%= config.bin %> push registry.example.org/apps/xz:compat xz.compat.json',
    '<%= config.bin %> push registry.example.org/apps/xz:compat /usr/bin/xz',
    '<%= config.bin %> push --oci-layout ./store:xz xz.compat.json',
  ];
  static strict = false;
  static args = { reference: Args.string({ required: true, description: 'REGISTRY/REPO:TAG (or DIR:TAG with --oci-layout).' }), file: Args.string({ description: 'Files to push.' }) };
  static flags = {
    ...registryFlags,
    'artifact-type': Flags.string({ description: 'Artifact type for files pushed ORAS-style.' }),
    annotation: repeatable({ char: 'a', description: 'KEY=VALUE manifest annotation (ORAS-style pushes).' }),
    json: Flags.boolean({ description: 'Print the result as JSON.' }),
  };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(Push);
    const files = (argv as string[]).slice(1);
    const annotations = Object.fromEntries((flags.annotation ?? []).map((a) => {
      const i = a.indexOf('=');
      if (i <= 0) this.error(`annotation ${JSON.stringify(a)}: expected KEY=VALUE`, { exit: 2 });
      return [a.slice(0, i), a.slice(i + 1)];
    }));
    const { pushFiles } = await import('../artifact/transfer.js');
    const { progressBars } = await import('../cli/progress.js');
    const bars = await progressBars({ done: 'Uploaded' });
    try {
      const r = await pushFiles(args.reference, files, { ...toRegistryFlags(flags), concurrency: flags.concurrency, onProgress: bars.onProgress, artifactType: flags['artifact-type'], annotations });
      bars.stop();
      if (flags.json) await this.printJson({ reference: r.reference, digest: r.descriptor.digest, mediaType: r.descriptor.mediaType, size: r.descriptor.size, kind: r.kind });
      else await this.out(`Pushed ${r.reference}\nDigest: ${r.descriptor.digest}\n`);
    } finally {
      bars.stop();
    }
  }
}
