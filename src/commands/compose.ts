import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';

export default class Compose extends BaseCommand {
  static summary = 'Can these applications share one container? Exit 0 yes, 1 no, 2 error.';
  static description =
    'Each application is a compat spec, or binaries or a directory described on the spot as gen does. They need one program interpreter; ' +
    'each goes under /opt/NAME, so what it reaches through $ORIGIN stays its own; a library it reaches through the search path goes into the loader\'s first default directory, ' +
    'one file per soname, which must satisfy the versions and symbols of every application that loads it. With --into, the base (an unpacked root or an image) must provide what they take from it (glibc and other versioned libraries). ' +
    'The answer: yes with the merged set (which files go where), or no with each conflict named.';
  static examples = ['<%= config.bin %> compose ./solver ./postproc', '<%= config.bin %> compose solver.compat.json ./postproc --into ./rootfs --json', '<%= config.bin %> compose ./solver ./postproc --into registry.example.org/base/hpc:2024'];
  static strict = false;
  static args = { app: Args.string({ required: true, description: 'Applications: compat specs (files or references), ELF binaries or directories; two or more.' }) };
  static flags = {
    ...registryFlags,
    into: Flags.string({ description: 'The base: an unpacked root file system (a directory), or an image (REF; DIR[:tag|@digest] with --oci-layout) unpacked into a temporary root and removed afterwards.' }),
    platform: Flags.string({ description: 'For an image index given to --into: the platform (OS/ARCH[/VARIANT]) (default: this machine\'s).' }),
    json: Flags.boolean({ description: 'Print the report as JSON.' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Compose);
    const { composeTargets } = await import('../artifact/compose.js');
    const { renderComposeReport } = await import('../cli/render-compose.js');
    const report = await composeTargets(argv as string[], flags.into, { ...toRegistryFlags(flags), platform: flags.platform });
    if (flags.json) await this.printJson(report);
    else await this.out(renderComposeReport(report));
    if (!report.compatible) return this.exit(1);
  }
}
