import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocationCache, nativeTable } from './location-cache.js';
import { TraceError } from './errors.js';
import { runPassingThrough } from './pass-through.js';

/** What the audit module reported, summed over every process of the run. */
export interface CacheStats {
  processes: number;
  /** Names the table answered: opened without a search. */
  answered: number;
  /** Names in the table whose file changed since it was built: searched as usual. */
  stale: number;
  /** Names not in the table (dlopen()ed modules it was not primed with, new dependencies): searched as usual. */
  unknown: number;
  /** Why the table was not used at all in some process (e.g. another LD_LIBRARY_PATH), with the count. */
  off: Record<string, number>;
}

export interface RunOptions {
  /** The audit module (dist/native/libcompat.so). */
  module: string;
  cache?: LocationCache;
  /** Collect the module's counts (the run's result carries them). */
  stats?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  /** The exit code a shell would report: the command's, or 128 + the signal that ended it. */
  code: number;
  stats?: CacheStats;
}

/** Adds `module` to LD_AUDIT after what the user already audits with. */
export function withAudit(current: string | undefined, module: string): string {
  return current ? `${current}:${module}` : module;
}

/** Bytes of one process image's counts (native/cache.c: "CCSTATS1", three u64, the reason it was off). */
const STATS_BYTES = 288;

/** Sums the counts every process image left in `dir`. */
export function readStats(dir: string): CacheStats {
  const s: CacheStats = { processes: 0, answered: 0, stale: 0, unknown: 0, off: {} };
  for (const name of readdirSync(dir)) {
    if (!/^\d+\.\d+$/.test(name)) continue;
    const b = readFileSync(join(dir, name));
    if (b.length !== STATS_BYTES || b.toString('latin1', 0, 8) !== 'CCSTATS1') continue;
    s.processes++;
    s.answered += Number(b.readBigUInt64LE(8));
    s.stale += Number(b.readBigUInt64LE(16));
    s.unknown += Number(b.readBigUInt64LE(24));
    const end = b.indexOf(0, 32);
    const off = b.toString('utf8', 32, end < 0 ? STATS_BYTES : end);
    if (off) s.off[off] = (s.off[off] ?? 0) + 1;
  }
  return s;
}

/** The module, which a build without a C compiler does not have: said in one line. */
export function assertModuleBuilt(module: string): void {
  if (!existsSync(module)) throw new TraceError(module, 'the native module is not built (npm run build needs a C compiler: apt-get install gcc)');
}

/** Runs `argv` with the audit module answering the loader's searches from `cache`. */
export async function runWithCache(argv: string[], opts: RunOptions): Promise<RunResult> {
  assertModuleBuilt(opts.module);
  const dir = mkdtempSync(join(tmpdir(), 'compat-run-'));
  try {
    const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env) };
    if (opts.cache) {
      const table = join(dir, 'table');
      writeFileSync(table, nativeTable(opts.cache), { mode: 0o600 });
      env.COMPAT_CACHE_TABLE = table;
      env.LD_AUDIT = withAudit(env.LD_AUDIT, opts.module);
    }
    const statsDir = join(dir, 'stats');
    if (opts.stats) {
      mkdirSync(statsDir, { mode: 0o700 });
      env.COMPAT_CACHE_STATS = statsDir;
    }
    const result: RunResult = { code: await runPassingThrough(argv[0]!, argv.slice(1), { env }) };
    if (opts.stats) result.stats = readStats(statsDir);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
