import { FormatError } from '../host/file-reader.js';
import { nativeModule } from '../trace/native-module.js';
import { buildLocationCache, type LocationCache, parseLocationCache } from '../trace/location-cache.js';
import { type CacheStats, runWithCache } from '../trace/run-cached.js';
import type { RegistryFlags } from '../artifact/targets.js';
import { out, writeOutput } from './output.js';

export interface CacheBuildFlags {
  output?: string;
  'ld-library-path'?: string;
  cwd?: string;
  'from-trace'?: string[];
}

export async function cacheBuildAction(programs: string[], flags: CacheBuildFlags): Promise<number> {
  const cache = buildLocationCache(programs, { ldLibraryPath: flags['ld-library-path'], cwd: flags.cwd, fromTrace: flags['from-trace'] });
  const text = `${JSON.stringify(cache, null, 2)}\n`;
  if (!flags.output) {
    await out(text);
    return 0;
  }
  await writeOutput(flags.output, text);
  const ambiguous = cache.ambiguous?.length ? `; ${cache.ambiguous.length} name(s) left to the search (two programs resolve them to different files: ${cache.ambiguous.map((a) => a.name).join(', ')})` : '';
  process.stderr.write(`wrote ${flags.output}: ${cache.entries.length} location(s) for ${programs.length + (flags['from-trace']?.length ?? 0)} input(s)${ambiguous}\n`);
  return 0;
}

/** A cache file: a regular file, read up to the spec files' cap (never a device or an endless stream). */
export async function readCacheFile(path: string): Promise<LocationCache> {
  const { readInputFile } = await import('../artifact/spec.js');
  return parseLocationCache(readInputFile(path).toString('utf8'), path);
}

/** `--cache FILE|REF`: the same "file or reference?" rule as check's. */
export async function loadCache(arg: string, flags: RegistryFlags = {}): Promise<LocationCache> {
  const { specSource } = await import('../artifact/spec-source.js');
  if (specSource(arg, { ociLayout: flags.ociLayout }).kind === 'file') return await readCacheFile(arg);
  const { fetchCacheText } = await import('../artifact/cache-artifact.js');
  return parseLocationCache(await fetchCacheText(arg, flags), arg);
}

export async function runAction(command: string[], flags: { cache?: string; stats?: boolean; registry?: RegistryFlags }): Promise<number> {
  if (command.length === 0) throw new FormatError('(no command)', 'not-found', 'give the command to run after --');
  const cache = flags.cache ? await loadCache(flags.cache, flags.registry) : undefined;
  const result = await runWithCache(command, { module: nativeModule(), cache, stats: flags.stats });
  if (flags.stats && result.stats) process.stderr.write(statsLine(result.stats, cache));
  return result.code;
}

export function statsLine(s: CacheStats, cache: LocationCache | undefined): string {
  const off = Object.entries(s.off).map(([why, n]) => `; table not used in ${n} process(es): ${why}`).join('');
  const table = cache ? `${cache.entries.length} entries` : 'no table';
  return `compat run: ${table}; ${s.processes} process(es); ${s.answered} answered from the table, ${s.stale} stale (searched), ${s.unknown} not in the table (searched)${off}\n`;
}

/** The environment `compat run` gives a command, for launchers that start the ranks themselves. */
export async function cacheEnvAction(arg: string, flags: { output: string; format: 'sh' | 'env'; registry?: RegistryFlags }): Promise<void> {
  const { nativeTable } = await import('../trace/location-cache.js');
  const { assertModuleBuilt, withAudit } = await import('../trace/run-cached.js');
  const { resolve } = await import('node:path');
  const module = nativeModule();
  assertModuleBuilt(module);
  const cache = await loadCache(arg, flags.registry);
  const table = resolve(flags.output);
  await writeOutput(table, nativeTable(cache));
  const vars: Array<[string, string]> = [
    ['LD_AUDIT', withAudit(process.env.LD_AUDIT, module)],
    ['COMPAT_CACHE_TABLE', table],
  ];
  const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  await out(vars.map(([k, v]) => (flags.format === 'sh' ? `export ${k}=${quote(v)}` : `${k}=${v}`)).join('\n') + '\n');
}
