import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * The hot commands on local files (check, gen, deps) without loading oclif, which costs more than
 * the check itself: `check` sits in a scheduler's path. Anything this parser does not fully
 * understand (help, registries, --server, a flag it does not know) is left to oclif: undefined.
 */
type Options = NonNullable<ParseArgsConfig['options']>;

const COMMON: Options = { debug: { type: 'boolean' } };
const COMMANDS: Record<string, Options> = {
  check: { ...COMMON, json: { type: 'boolean' }, path: { type: 'string', multiple: true }, cwd: { type: 'string' }, root: { type: 'string' } },
  gen: { ...COMMON, output: { type: 'string', short: 'o' }, root: { type: 'string' }, name: { type: 'string' }, 'skip-unreadable': { type: 'boolean' } },
  deps: { ...COMMON, json: { type: 'boolean' }, root: { type: 'string' }, cwd: { type: 'string' } },
};

export async function runFast(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  const options = command === undefined ? undefined : COMMANDS[command];
  if (!options) return undefined;
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch {
    return undefined;
  }
  const { values, positionals } = parsed as { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  if (rest.includes('--')) return undefined;
  const debug = values.debug === true;
  try {
    switch (command) {
      case 'check': {
        // References need the registry flags, which only oclif parses.
        if (positionals.length !== 1) return undefined;
        const { specSource } = await import('../artifact/spec-source.js');
        if (specSource(positionals[0]!).kind !== 'file') return undefined;
        const { checkAction } = await import('./actions.js');
        return await checkAction(positionals[0]!, { json: values.json === true, path: values.path as string[] | undefined, cwd: values.cwd as string | undefined, root: values.root as string | undefined });
      }
      case 'gen': {
        if (positionals.length === 0 && values.root === undefined) return undefined;
        // gen makes tens of MB of short-lived objects in one burst: growing the young generation
        // 16-fold at a time instead of doubling from 1 MB halves the scavenges (bench/RESULTS.md).
        (await import('node:v8')).setFlagsFromString('--semi-space-growth-factor=16');
        const { genAction } = await import('./actions.js');
        return await genAction(positionals, values as import('./actions.js').GenFlags);
      }
      case 'deps': {
        if (positionals.length !== 1) return undefined;
        const { depsAction } = await import('./actions.js');
        return await depsAction(positionals[0]!, { json: values.json === true, root: values.root as string | undefined, cwd: values.cwd as string | undefined });
      }
    }
  } catch (e) {
    const { reportError } = await import('./errors.js');
    reportError(e, debug);
    return 2;
  }
  return undefined;
}
