import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';

const { 'oci-layout': _layout, ...remoteFlags } = registryFlags;

export default class Cp extends BaseCommand {
  static summary = 'Copy an artifact or image between registries and OCI layouts; with -r, the artifacts attached to it too.';
  static description = 'A destination without a tag takes the source\'s. With -r, every referrer of the copied manifests (and of an index\'s platform manifests), recursively: an image is promoted together with its compat artifact. -u/-p are for the source\'s registry; a destination on another registry uses its stored credential (compat login).';
  static examples = [
    '<%= config.bin %> cp -r registry.example.org/staging/solver:1.2 registry.example.org/prod/solver:1.2',
    '<%= config.bin %> cp -r --to-oci-layout registry.example.org/apps/solver:1.2 ./layout:solver',
  ];
  static args = {
    source: Args.string({ required: true, description: 'REGISTRY/REPO:TAG or @sha256:… (DIR:TAG with --from-oci-layout).' }),
    destination: Args.string({ required: true, description: 'REGISTRY/REPO[:TAG] (DIR[:TAG] with --to-oci-layout).' }),
  };
  static flags = {
    ...remoteFlags,
    recursive: Flags.boolean({ char: 'r', description: 'Copy the referrers too, recursively.' }),
    'from-oci-layout': Flags.boolean({ description: 'The source is an OCI image layout directory (DIR[:tag|@digest]).' }),
    'to-oci-layout': Flags.boolean({ description: 'The destination is an OCI image layout directory (DIR[:tag]).' }),
    json: Flags.boolean({ description: 'Print the result as JSON.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Cp);
    const { copyReference } = await import('../artifact/registry-verbs.js');
    const { progressBars } = await import('../cli/progress.js');
    const bars = await progressBars();
    try {
      const r = await copyReference(args.source, args.destination, {
        ...toRegistryFlags(flags),
        fromOciLayout: flags['from-oci-layout'],
        toOciLayout: flags['to-oci-layout'],
        recursive: flags.recursive,
        concurrency: flags.concurrency,
        onProgress: bars.onProgress,
        onEvent: bars.onEvent,
      });
      bars.stop();
      const d = r.descriptor;
      if (flags.json) return this.printJson({ ...r.summary, source: args.source, referrers: r.referrers.map((x) => ({ digest: x.digest, artifactType: x.artifactType ?? null })) });
      const more = flags.recursive ? ` with ${r.referrers.length} referrer${r.referrers.length === 1 ? '' : 's'}` : '';
      await this.out(`Copied ${args.source} => ${r.reference}${more}\nDigest: ${d.digest}\n`);
    } finally {
      bars.stop();
    }
  }
}
