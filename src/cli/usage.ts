/**
 * oclif's parse errors span several lines (a list of arguments, a help hint) and some start with
 * a bare header ("The following error occurred:"): here each becomes one complete line in the
 * style of every other error, `<command>: <what is wrong>; see compat <command> --help`.
 */
interface ParseError extends Error {
  args?: Array<{ name?: string; description?: string } | string>;
  flags?: string[];
}

export function usageLine(err: ParseError, command: string): string | undefined {
  const see = `see compat ${command} --help`;
  const names = (list: unknown[] | undefined) => (list ?? []).map(String).join(', ');
  switch (err.constructor?.name) {
    case 'RequiredArgsError': {
      const args = (err.args ?? []).filter((a): a is { name: string; description?: string } => typeof a === 'object' && !!a.name);
      const what = args.map((a) => a.name.toUpperCase()).join(' and ');
      const about = args.length === 1 && args[0]!.description ? ` (${args[0]!.description.replace(/\.$/, '')})` : '';
      return `${command}: missing ${what}${about}; ${see}`;
    }
    case 'UnexpectedArgsError':
      return `${command}: unexpected argument${err.args?.length === 1 ? '' : 's'} ${names(err.args)}; ${see}`;
    case 'NonExistentFlagsError':
      return `${command}: unknown flag${err.flags?.length === 1 ? '' : 's'} ${names(err.flags)}; ${see}`;
    case 'FailedFlagValidationError':
      return `${command}: ${reasons(err.message).join('; ')}; ${see}`;
    case 'FlagInvalidOptionError':
    case 'ArgInvalidOptionError':
      return `${command}: ${firstLine(err.message)}; ${see}`;
  }
  return undefined;
}

/** The indented reason lines under oclif's header, without its colours. */
function reasons(message: string): string[] {
  // eslint-disable-next-line no-control-regex
  const lines = message.replace(/\x1b\[[0-9;]*m/g, '').split('\n').slice(1);
  return lines.filter((l) => /^\s+\S/.test(l)).map((l) => l.trim().replace(/^Missing required flag (\S+)$/, 'missing required flag --$1'));
}

function firstLine(message: string): string {
  return message.split('\n')[0]!;
}
