import * as Args from '@oclif/core/args';
import { BaseCommand } from '../cli/base.js';
import { parseAnnotations, pushFlags } from '../cli/push-flags.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';

export default class Push extends BaseCommand {
  static summary = 'Push a compat spec (or an ELF binary, described on the fly, or any files ORAS-style) to a registry or OCI layout.';
  static examples = [
    '<%= config.bin %> push registry.example.org/apps/xz:compat xz.compat.json',
    '<%= config.bin %> push registry.example.org/apps/xz:compat,latest /usr/bin/xz',
    '<%= config.bin %> push registry.example.org/apps/data:v1 docs/hi.txt:text/plain -a org.example.owner=hpc',
    '<%= config.bin %> push --oci-layout ./store:xz xz.compat.json',
  ];
  static strict = false;
  static args = {
    reference: Args.string({ required: true, description: 'REGISTRY/REPO:TAG[,TAG…] (or DIR:TAG[,TAG…] with --oci-layout).' }),
    file: Args.string({ description: 'Files to push, each FILE or FILE:MEDIATYPE.' }),
  };
  static flags = { ...registryFlags, ...pushFlags };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(Push);
    const files = (argv as string[]).slice(1);
    const annotations = parseAnnotations(flags.annotation, (m) => this.error(m, { exit: 2 }));
    const { pushFiles } = await import('../artifact/push.js');
    const { progressBars } = await import('../cli/progress.js');
    const bars = await progressBars({ done: 'Uploaded' });
    try {
      const r = await pushFiles(args.reference, files, { ...toRegistryFlags(flags), concurrency: flags.concurrency, onProgress: bars.onProgress, onEvent: bars.onEvent, artifactType: flags['artifact-type'], annotations, annotationFile: flags['annotation-file'] });
      bars.stop();
      if (flags.json) await this.printJson({ ...r.summary, kind: r.kind, tags: r.tags });
      else await this.out(`Pushed ${r.reference}\nDigest: ${r.descriptor.digest}\n`);
    } finally {
      bars.stop();
    }
  }
}
