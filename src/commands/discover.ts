import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';

export default class Discover extends BaseCommand {
  static summary = 'List the artifacts attached to an image (referrers), newest first; compat, NFD and compspec artifacts are named as such.';
  static examples = ['<%= config.bin %> discover registry.example.org/apps/solver:1.2', '<%= config.bin %> discover registry.example.org/apps/solver:1.2 --format tree --depth 2'];
  static args = { subject: Args.string({ required: true, description: 'The image: REGISTRY/REPO:TAG or @sha256:….' }) };
  static flags = {
    ...registryFlags,
    'artifact-type': Flags.string({ description: 'Only referrers of this artifact type.' }),
    format: Flags.string({ description: 'tree: referrers of referrers under each artifact type; table: the direct referrers (default); json: the whole tree.', options: ['tree', 'table', 'json'] }),
    depth: Flags.integer({ min: 1, description: 'Levels of referrers to walk for tree and json (default: all).' }),
    json: Flags.boolean({ description: 'Same as --format json.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Discover);
    const { discoverReferrers } = await import('../artifact/transfer.js');
    const format = flags.json ? 'json' : (flags.format ?? 'table');
    const depth = format === 'table' ? 1 : flags.depth;
    const r = await discoverReferrers(args.subject, { ...toRegistryFlags(flags), artifactType: flags['artifact-type'], depth });
    if (format === 'json') return this.printJson({ subject: r.subject.digest, referrers: r.referrers });
    if (format === 'tree') {
      const { referrerTree } = await import('../cli/render-referrers.js');
      return this.out(referrerTree(args.subject.includes('@') ? args.subject : `${args.subject}@${r.subject.digest}`, r.referrers));
    }
    const { table } = await import('../cli/render.js');
    await this.out(`${args.subject} (${r.subject.digest}): ${r.referrers.length} referrer${r.referrers.length === 1 ? '' : 's'}\n`);
    if (r.referrers.length) await this.out(table(['DIGEST', 'KIND', 'ARTIFACT TYPE', 'CREATED'], r.referrers.map((x) => [x.digest.slice(0, 19), x.kind, x.artifactType ?? '-', x.created ?? '-'])));
  }
}
