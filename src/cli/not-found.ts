import { ExitError } from '@oclif/core/errors';

/**
 * oclif's `command_not_found` hook: an unknown command is a usage error like any other, one line
 * and exit 2, instead of oclif's own boxed "command … not found".
 */
export default async function notFound(opts: { id: string }): Promise<never> {
  process.stderr.write(`compat: ${opts.id.replace(/:/g, ' ')}: not a compat command; see compat --help\n`);
  throw new ExitError(2);
}
