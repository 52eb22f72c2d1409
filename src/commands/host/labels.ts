import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../cli/base.js';
import { registryFlags, toRegistryFlags } from '../../cli/registry-flags.js';
import { repeatable } from '../../cli/repeatable.js';

export default class HostLabels extends BaseCommand {
  static summary = 'Write a Node Feature Discovery feature file with one label per artifact: can this node run it?';
  static description = 'Labels are compat.feature.node.kubernetes.io/<artifact>=true|false, so pods can use a nodeSelector or node affinity on them.';
  static examples = ['<%= config.bin %> host labels registry.example.org/apps/xz:compat registry.example.org/apps/solver:1.2-compat'];
  static strict = false;
  static args = { artifact: Args.string({ required: true, description: 'Artifact references (or spec files).' }) };
  static flags = {
    ...registryFlags,
    file: Flags.string({ description: 'The feature file to write.', default: '/etc/kubernetes/node-feature-discovery/features.d/compat' }),
    'dry-run': Flags.boolean({ description: 'Print the file instead of writing it.' }),
    json: Flags.boolean({ description: 'Print the labels as JSON.' }),
    path: repeatable({ description: 'Extra library directories the node provides.' }),
    root: Flags.string({ description: "Label for this root file system as if it were the node's `/` (a DaemonSet mounts the node's / at /host): its index, as host scan --root makes it." }),
    platform: Flags.string({ description: 'For image indexes: the platform (OS/ARCH[/VARIANT]) whose manifest\'s referrers are asked first (default: this node\'s).' }),
    expiry: Flags.string({ default: '1h', description: 'How long NFD keeps the labels unless the file is written again (# +expiry-time=); 0: forever.' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(HostLabels);
    const { parseDuration } = await import('../../cli/duration.js');
    const expiryMs = parseDuration('expiry', flags.expiry);
    const { computeLabels, renderFeatureFile, writeFeatureFile } = await import('../../artifact/labels.js');
    const { loadOrScan } = await import('../../host/host-index.js');
    const { rootDir } = await import('../../cli/actions.js');
    const { index } = loadOrScan({ extraDirs: flags.path, root: rootDir(flags.root) });
    const results = await computeLabels(argv as string[], index, { ...toRegistryFlags(flags), platform: flags.platform }, process.env.LD_LIBRARY_PATH);
    const now = new Date();
    const expiresAt = expiryMs > 0 ? new Date(now.getTime() + expiryMs) : undefined;
    const text = renderFeatureFile(results, { now, expiresAt });
    if (!flags['dry-run']) writeFeatureFile(flags.file, text);
    if (flags.json) return this.printJson({ file: flags['dry-run'] ? null : flags.file, expires: expiresAt?.toISOString() ?? null, labels: results });
    await this.out(flags['dry-run'] ? text : `${results.map((r) => `${r.label}=${r.compatible}`).join('\n')}\n-> ${flags.file}\n`);
  }
}
