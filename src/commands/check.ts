import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';
import { repeatable } from '../cli/repeatable.js';

export default class Check extends BaseCommand {
  static summary = 'Will this application run on this node? Exit 0 compatible, 1 incompatible, 2 error.';
  static description = 'A reference to an image or an image index is checked through the newest compat artifact attached to it (its referrers): for an index, the one attached to the --platform manifest first, then the index\'s own.';
  static examples = [
    '<%= config.bin %> check app.compat.json',
    '<%= config.bin %> check registry.example.org/apps/xz:compat',
    '<%= config.bin %> check registry.example.org/apps/xz:5.4 --platform linux/arm64',
    '<%= config.bin %> check --oci-layout ./store:xz',
    '<%= config.bin %> check --json app.compat.json',
  ];
  static args = { spec: Args.string({ required: true, description: 'A compat spec file (or the legacy {version, attributes} format), or a registry reference (an artifact, or an image with one attached).' }) };
  static flags = {
    ...registryFlags,
    json: Flags.boolean({ description: 'Print the report as JSON.' }),
    server: Flags.string({ description: 'Ask a running `compat serve` (HOST:PORT or unix:///path.sock) instead of checking here.' }),
    path: repeatable({ description: 'Extra library directories the node provides (indexed with the rest).' }),
    root: Flags.string({ description: "Check against this root file system as if it were the node's `/` (its ld.so.cache, its loader's directories; absolute links stay inside it)." }),
    cwd: Flags.string({ description: 'The directory the application will run in: relative or empty LD_LIBRARY_PATH/RUNPATH entries and relative library names resolve against it (default: the current directory).' }),
    platform: Flags.string({ description: 'For an image index: the platform (OS/ARCH[/VARIANT]) whose manifest\'s referrers are asked first (default: this node\'s).' }),
    image: Flags.string({ description: 'Will the application run inside this container image? Its layers are unpacked into a temporary root (removed afterwards) and checked against as --root is.', exclusive: ['root', 'server'] }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Check);
    const { checkAction, printReport } = await import('../cli/actions.js');
    let code: number;
    if (flags.server) {
      if (flags.platform !== undefined) this.error("--platform: not sent to a daemon, which checks for its own node's platform");
      const { checkRemoteReport } = await import('../service/client.js');
      const { specSource } = await import('../artifact/spec-source.js');
      const isRef = specSource(args.spec, { ociLayout: flags['oci-layout'] }).kind === 'reference';
      const req = isRef ? { uri: args.spec } : { payload: await readSpecText(args.spec) };
      code = await printReport(args.spec, await checkRemoteReport(flags.server, req, { source: args.spec }), flags.json);
    } else if (flags.image !== undefined) {
      const { checkInImage } = await import('../artifact/image-root.js');
      const { workingDir } = await import('../cli/actions.js');
      const env = { preload: process.env.LD_PRELOAD, cwd: workingDir(flags.cwd), tunables: process.env.GLIBC_TUNABLES };
      const report = await checkInImage(args.spec, flags.image, { ...toRegistryFlags(flags), platform: flags.platform }, { extraDirs: flags.path, ldLibraryPath: process.env.LD_LIBRARY_PATH, env });
      code = await printReport(args.spec, report, flags.json);
    } else code = await checkAction(args.spec, { ...flags, registry: { ...toRegistryFlags(flags), platform: flags.platform } });
    if (code !== 0) return this.exit(code);
  }
}

/** The spec's text, validated here first so a bad file gets the same one-line error as a local check. */
async function readSpecText(path: string): Promise<string> {
  const { parseSpec, readInputFile } = await import('../artifact/spec.js');
  const text = readInputFile(path).toString('utf8');
  parseSpec(text, path);
  return text;
}
