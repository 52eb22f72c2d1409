import { existsSync } from 'node:fs';
import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';
import { repeatable } from '../cli/repeatable.js';

export default class Check extends BaseCommand {
  static summary = 'Will this application run on this node? Exit 0 compatible, 1 incompatible, 2 error.';
  static examples = [
    '<%= config.bin %> check app.compat.json',
    '<%= config.bin %> check registry.example.org/apps/xz:compat',
    '<%= config.bin %> check --oci-layout ./store:xz',
    '<%= config.bin %> check --json app.compat.json',
  ];
  static args = { spec: Args.string({ required: true, description: 'A compat spec file (or the legacy {version, attributes} format), or a registry reference.' }) };
  static flags = {
    ...registryFlags,
    json: Flags.boolean({ description: 'Print the report as JSON.' }),
    server: Flags.string({ description: 'Ask a running `compat serve` (HOST:PORT or unix:///path.sock) instead of checking here.' }),
    path: repeatable({ description: 'Extra library directories the node provides (indexed with the rest).' }),
    cwd: Flags.string({ description: 'The directory the application will run in: relative or empty LD_LIBRARY_PATH/RUNPATH entries and relative library names resolve against it (default: the current directory).' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Check);
    const { checkFileAction, printReport } = await import('../cli/actions.js');
    let code: number;
    if (flags.server) {
      const { checkRemoteReport } = await import('../service/client.js');
      const isRef = flags['oci-layout'] || looksLikeReference(args.spec);
      const req = isRef ? { uri: args.spec } : { payload: await readSpecText(args.spec) };
      code = await printReport(args.spec, await checkRemoteReport(flags.server, req, { source: args.spec }), flags.json);
    } else if (flags['oci-layout'] || looksLikeReference(args.spec)) {
      const { checkSpecText } = await import('../artifact/check-spec.js');
      const { fetchSpecText } = await import('../artifact/fetch-spec.js');
      const { loadOrScan } = await import('../host/host-index.js');
      const { workingDir } = await import('../cli/actions.js');
      const { text } = await fetchSpecText(args.spec, toRegistryFlags(flags));
      const env = { preload: process.env.LD_PRELOAD, cwd: workingDir(flags.cwd) };
      code = await printReport(args.spec, checkSpecText(text, args.spec, loadOrScan({ extraDirs: flags.path }).index, process.env.LD_LIBRARY_PATH, env).report, flags.json);
    } else code = await checkFileAction(args.spec, flags);
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

/** A path that exists is a file; otherwise `host/repo:tag` or `…@sha256:` shapes are references. */
function looksLikeReference(arg: string): boolean {
  if (existsSync(arg) || arg.startsWith('.') || arg.startsWith('/') || arg.endsWith('.json')) return false;
  return /^[^/\s]+(\/[^/\s]+)+([:@][^/\s]+)?$/.test(arg) && /[:@]/.test(arg);
}
