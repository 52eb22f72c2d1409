import * as Args from '@oclif/core/args';
import { BaseCommand } from '../cli/base.js';
import { parseAnnotations, pushFlags } from '../cli/push-flags.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';

export default class Attach extends BaseCommand {
  static summary = 'Attach files to an image (an artifact whose subject is the image, found through referrers): a compat spec, an ELF described on the fly, or any files with --artifact-type.';
  static examples = [
    '<%= config.bin %> attach registry.example.org/apps/solver:1.2 solver.compat.json',
    '<%= config.bin %> attach registry.example.org/apps/solver:1.2 nfd.yaml --artifact-type application/vnd.nfd.image-compatibility.v1alpha1',
  ];
  static strict = false;
  static args = {
    subject: Args.string({ required: true, description: 'The image: REGISTRY/REPO:TAG or @sha256:….' }),
    file: Args.string({ required: true, description: 'Files to attach, each FILE or FILE:MEDIATYPE.' }),
  };
  static flags = { ...registryFlags, ...pushFlags };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(Attach);
    const files = (argv as string[]).slice(1);
    const annotations = parseAnnotations(flags.annotation, (m) => this.error(m, { exit: 2 }));
    const { attachFiles } = await import('../artifact/push.js');
    const { progressBars } = await import('../cli/progress.js');
    const bars = await progressBars({ done: 'Uploaded' });
    try {
      const r = await attachFiles(args.subject, files, { ...toRegistryFlags(flags), concurrency: flags.concurrency, onProgress: bars.onProgress, onEvent: bars.onEvent, artifactType: flags['artifact-type'], annotations, annotationFile: flags['annotation-file'] });
      bars.stop();
      if (flags.json) await this.printJson({ ...r.summary, kind: r.kind, subject: r.subject.digest });
      else await this.out(`Attached to ${args.subject} (${r.subject.digest})\nDigest: ${r.descriptor.digest}\n`);
    } finally {
      bars.stop();
    }
  }
}
