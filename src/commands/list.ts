import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';

export default class List extends BaseCommand {
  static summary = 'List the artifacts of a repository by tag: digest, artifact type, size, creation date.';
  static examples = ['<%= config.bin %> list registry.example.org/apps/xz', '<%= config.bin %> list --oci-layout ./store --json', '<%= config.bin %> list registry.example.org/apps/xz --exclude-digest-tags --last v1'];
  static args = { repository: Args.string({ required: true, description: 'REGISTRY/REPO (or DIR with --oci-layout).' }) };
  static flags = {
    ...registryFlags,
    'artifact-type': Flags.string({ description: 'Only artifacts of this type.' }),
    last: Flags.string({ description: 'Only the tags after this one, in sorted order.' }),
    'exclude-digest-tags': Flags.boolean({ description: 'Hide the sha256-<hex> tags the referrers fallback makes.' }),
    json: Flags.boolean({ description: 'Print JSON.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(List);
    const { listArtifacts } = await import('../artifact/transfer.js');
    const rows = await listArtifacts(args.repository, { ...toRegistryFlags(flags), concurrency: flags.concurrency, artifactType: flags['artifact-type'], last: flags.last, excludeDigestTags: flags['exclude-digest-tags'] });
    if (flags.json) return this.printJson(rows);
    const { table } = await import('../cli/render.js');
    await this.out(table(['TAG', 'DIGEST', 'KIND', 'ARTIFACT TYPE', 'SIZE', 'CREATED'], rows.map((r) => [r.tag, r.digest.slice(0, 19), r.kind, r.artifactType ?? '-', String(r.size), r.created ?? '-'])));
  }
}
