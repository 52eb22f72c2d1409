import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { repeatable } from '../cli/repeatable.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';

export default class BindCheck extends BaseCommand {
  static summary = 'Can these host libraries be bind-mounted into this container? Exit 0 yes, 1 no, 2 error.';
  static description =
    "Resolves each host library's DT_NEEDED closure inside the container as its loader will after the bind (its ld.so.cache and default directories, the bound files at their targets, found through LD_LIBRARY_PATH), " +
    'checks versions, symbols, class/machine, ISA level and interpreter, names the host files that must come along (the injection set), warns when glibc itself would have to be replaced, ' +
    "and checks that the container's own programs still load with the bound files in place.";
  static examples = [
    '<%= config.bin %> bind-check ./rootfs --lib /usr/lib64/libmpi.so.12',
    '<%= config.bin %> bind-check ./rootfs --lib /opt/host/libfabric.so.1:/usr/lib/host/libfabric.so.1 --json',
    '<%= config.bin %> bind-check registry.example.org/apps/solver:1.2 --lib /usr/lib64/libmpi.so.12',
  ];
  static args = { container: Args.string({ required: true, description: "The container: its root file system unpacked (a directory), or an image (REF; DIR[:tag|@digest] with --oci-layout), unpacked into a temporary root and removed afterwards." }) };
  static flags = {
    ...registryFlags,
    platform: Flags.string({ description: "For an image index: the platform (OS/ARCH[/VARIANT]) to check (default: this machine's)." }),
    lib: repeatable({ required: true, description: 'A host library to bind in: HOST_PATH[:TARGET] (TARGET defaults to the same path).' }),
    'bind-dir': repeatable({ description: 'A host directory bound in whole: HOST_DIR[:TARGET].' }),
    app: repeatable({ description: "A program of the container (path inside it) to check for shadowing, besides those in its bin directories." }),
    json: Flags.boolean({ description: 'Print the report as JSON.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(BindCheck);
    const { rootDir } = await import('../cli/actions.js');
    const { parseBind, renderBindReport } = await import('../cli/render-bind.js');
    const { bindCheck } = await import('../host/bind-check.js');
    const { resolve } = await import('node:path');
    const { specSource } = await import('../artifact/spec-source.js');
    const abs = (b: { host: string; target: string }) => ({ host: resolve(b.host), target: resolve('/', b.target) });
    const opts = { libs: (flags.lib ?? []).map((l) => abs(parseBind(l))), bindDirs: (flags['bind-dir'] ?? []).map((d) => abs(parseBind(d))), apps: flags.app };
    let report;
    if (specSource(args.container, { ociLayout: flags['oci-layout'] }).kind === 'reference') {
      const { bindCheckImage } = await import('../artifact/image-root.js');
      report = await bindCheckImage(args.container, { ...toRegistryFlags(flags), platform: flags.platform }, opts);
    } else report = bindCheck({ root: rootDir(args.container)!, ...opts });
    if (flags.json) await this.printJson(report);
    else await this.out(renderBindReport(args.container, report));
    if (!report.compatible) return this.exit(1);
  }
}
