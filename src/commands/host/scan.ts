import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../cli/base.js';
import { repeatable } from '../../cli/repeatable.js';

export default class HostScan extends BaseCommand {
  static summary = 'Index every library the loader could find on this node (ld.so.cache, default dirs, extra paths).';
  static examples = ['<%= config.bin %> host scan', '<%= config.bin %> host scan --path /opt/site/lib', '<%= config.bin %> host scan --root /host'];
  static flags = {
    path: repeatable({ description: 'Extra library directories to index.' }),
    root: Flags.string({ description: "Index this root file system as if it were `/` (its ld.so.cache and ld.so.conf, its loader's directories; absolute links stay inside it). Saved apart from the node's own index." }),
    json: Flags.boolean({ description: 'Print a JSON summary.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(HostScan);
    const { scanHost, saveIndex, defaultIndexFile } = await import('../../host/host-index.js');
    const t0 = performance.now();
    const { rootDir } = await import('../../cli/actions.js');
    const root = rootDir(flags.root);
    const index = scanHost({ extraDirs: flags.path, root });
    const { extraDirFindings } = await import('../../host/scan-findings.js');
    const { warn } = await import('../../cli/errors.js');
    for (const f of extraDirFindings(index)) warn(`${f.dir}: ${f.problem}`);
    const file = defaultIndexFile(index.root);
    saveIndex(index, file);
    const ms = performance.now() - t0;
    const summary = {
      file,
      fingerprint: index.fingerprint,
      libraries: Object.keys(index.objects).length,
      directories: Object.keys(index.dirs).length,
      cacheEntries: index.cacheEntries.length,
      glibc: index.glibc,
      hwcaps: index.hwcaps,
      ...(index.root ? { root: index.root, ldSoConf: index.ldSoConf } : {}),
      milliseconds: Math.round(ms),
    };
    if (flags.json) await this.printJson(summary);
    else
      await this.out(
        `indexed ${summary.libraries} libraries in ${summary.directories} directories (ld.so.cache: ${summary.cacheEntries} entries${index.glibc ? `, ${index.glibc}` : ''}) in ${summary.milliseconds} ms\n-> ${file}\n`,
      );
  }
}
