import { existsSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { specSource } from '../artifact/source-rule.js';
import { splitCommand } from './command-line.js';

/**
 * The hot commands on local files (check, gen, deps) without loading oclif, which costs more than
 * the check itself: `check` sits in a scheduler's path. Anything this parser does not fully
 * understand (help, registries, --server, a flag it does not know) is left to oclif: undefined.
 * Each flag here must parse as its oclif twin does (test/cli/flag-parity.test.ts).
 */
type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | string[] | undefined>;

const COMMON: Options = { debug: { type: 'boolean' } };
export const FAST_OPTIONS: Record<string, Options> = {
  check: { ...COMMON, json: { type: 'boolean' }, path: { type: 'string', multiple: true }, cwd: { type: 'string' }, root: { type: 'string' } },
  gen: { ...COMMON, output: { type: 'string', short: 'o' }, root: { type: 'string' }, name: { type: 'string' }, 'skip-unreadable': { type: 'boolean' } },
  deps: { ...COMMON, json: { type: 'boolean' }, root: { type: 'string' }, cwd: { type: 'string' } },
  run: { ...COMMON, cache: { type: 'string' }, stats: { type: 'boolean' } },
};

interface Route {
  command: string;
  positionals: string[];
  values: Values;
  run: () => Promise<number>;
}

export async function runFast(argv: string[]): Promise<number | undefined> {
  const route = routeOf(argv);
  if (!route) return undefined;
  if (process.env.COMPAT_ECHO_PARSE) {
    const { echoParse } = await import('./echo-parse.js');
    echoParse('fast', route.command, route.positionals, route.values);
    return 0;
  }
  try {
    return await route.run();
  } catch (e) {
    const { reportError } = await import('./errors.js');
    reportError(e, route.values.debug === true);
    return 2;
  }
}

/**
 * `run --cache FILE [--stats] -- CMD…` (a job launcher's path: every rank pays compat's start-up).
 * Only compat's own words are parsed; the command's are never looked at.
 */
function runRoute(rest: string[]): Route | undefined {
  const { own, command } = splitCommand(rest, ['--cache']);
  let parsed;
  try {
    parsed = parseArgs({ args: own, options: FAST_OPTIONS.run!, allowPositionals: false, strict: true });
  } catch {
    return undefined;
  }
  const values = parsed.values as Values;
  // A reference needs the registry flags, which only oclif parses.
  if (typeof values.cache === 'string' && specSource(values.cache).kind === 'reference') return undefined;
  return { command: 'run', positionals: [], values, run: async () => (await import('./cache-actions.js')).runAction(command, { cache: values.cache as string | undefined, stats: values.stats === true }) };
}

/** What the fast entry would run for this command line, or undefined when it is oclif's. */
function routeOf(argv: string[]): Route | undefined {
  const [command, ...rest] = argv;
  if (command === 'run') return runRoute(rest);
  const options = command === undefined ? undefined : FAST_OPTIONS[command];
  if (!options || rest.includes('--')) return undefined;
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch {
    return undefined;
  }
  const { values, positionals } = parsed as { values: Values; positionals: string[] };
  const route = (run: () => Promise<number>): Route => ({ command: command!, positionals, values, run });
  switch (command) {
    case 'check':
      if (positionals.length !== 1 || !existsSync(positionals[0]!)) return undefined;
      return route(async () => (await import('./actions.js')).checkAction(positionals[0]!, { json: values.json === true, path: values.path as string[] | undefined, cwd: values.cwd as string | undefined, root: values.root as string | undefined }));
    case 'gen':
      if (positionals.length === 0 && values.root === undefined) return undefined;
      return route(async () => {
        // gen makes tens of MB of short-lived objects in one burst: growing the young generation
        // 16-fold at a time instead of doubling from 1 MB halves the scavenges (bench/RESULTS.md).
        (await import('node:v8')).setFlagsFromString('--semi-space-growth-factor=16');
        return (await import('./actions.js')).genAction(positionals, values as import('./actions.js').GenFlags);
      });
    case 'deps':
      if (positionals.length !== 1) return undefined;
      return route(async () => (await import('./actions.js')).depsAction(positionals[0]!, { json: values.json === true, root: values.root as string | undefined, cwd: values.cwd as string | undefined }));
  }
  return undefined;
}
