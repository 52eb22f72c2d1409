import { hostname } from 'node:os';
import { lstatSync, statSync } from 'node:fs';
import { dependencyReport } from '../host/deps.js';
import { FormatError } from '../host/file-reader.js';
import type { LoadTrace, TraceVia } from '../host/load-trace.js';
import { imagesOf, recordedTrace } from './images.js';
import { readLog } from './log-file.js';
import { TraceError } from './errors.js';

/**
 * A location cache: for one application on one node, the file the glibc loader would open for
 * each name it searches for. `compat run` hands it to the audit module, which answers
 * `la_objsearch` from it so the loader opens that file without walking its search path.
 */
export const CACHE_MEDIA_TYPE = 'application/vnd.compspec.compat.cache.v1+json';

export interface CacheEntry {
  /** The name searched for (a DT_NEEDED entry without '/'). */
  name: string;
  /** The path the loader's search produces (the link map's l_name), not its real path. */
  path: string;
  /** How the search found it (LoadTrace's `via`). */
  via: TraceVia;
  /**
   * The directory entry's own inode (lstat: a link's, not its target's): the audit module lists
   * each directory once and takes an entry only if the directory still holds it under this inode.
   */
  entryIno: string;
  /** The file's identity when the table was built (through links), as decimal strings (64-bit values). */
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
}

export interface LocationCache {
  mediaType: typeof CACHE_MEDIA_TYPE;
  version: 1;
  created: string;
  host: string;
  machine: string;
  glibc?: string;
  /** The LD_LIBRARY_PATH the searches were made with ('' for none); another one turns the cache off. */
  ldLibraryPath: string;
  /** What the table was built from. */
  sources: string[];
  entries: CacheEntry[];
  /** Names two sources resolve to different files: left to the loader's own search. */
  ambiguous?: Array<{ name: string; paths: string[] }>;
}

export interface CacheBuildOptions {
  /** LD_LIBRARY_PATH the application will run with; default: this process's. */
  ldLibraryPath?: string;
  cwd?: string;
  created?: Date;
}

/** Searches of one load that ended in a file, in the order the loader made them. */
export function foundSearches(trace: LoadTrace): Array<{ name: string; path: string; via: TraceVia }> {
  const viaOf = new Map(trace.objects.map((o) => [o.path, o.via] as const));
  const out: Array<{ name: string; path: string; via: TraceVia }> = [];
  for (const s of trace.searches) {
    if (s.result !== 'found' || !s.path || s.name.includes('/')) continue;
    const accepted = s.candidates.find((c) => c.outcome === 'accepted');
    out.push({ name: s.name, path: s.path, via: accepted?.via ?? viaOf.get(s.path) ?? 'default' });
  }
  return out;
}

function identity(path: string): Pick<CacheEntry, 'entryIno' | 'dev' | 'ino' | 'size' | 'mtimeNs'> {
  const st = statSync(path, { bigint: true });
  const entry = lstatSync(path, { bigint: true });
  return { entryIno: String(entry.ino), dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtimeNs: String(st.mtimeNs) };
}

/** Merges found searches: a name that leads to two files is kept out of the table, never guessed. */
export function mergeFound(lists: Array<Array<{ name: string; path: string; via: TraceVia }>>): { entries: Map<string, { path: string; via: TraceVia }>; ambiguous: Map<string, Set<string>> } {
  const entries = new Map<string, { path: string; via: TraceVia }>();
  const ambiguous = new Map<string, Set<string>>();
  for (const list of lists)
    for (const f of list) {
      const seen = ambiguous.get(f.name);
      if (seen) {
        seen.add(f.path);
        continue;
      }
      const known = entries.get(f.name);
      if (!known) entries.set(f.name, { path: f.path, via: f.via });
      else if (known.path !== f.path) {
        ambiguous.set(f.name, new Set([known.path, f.path]));
        entries.delete(f.name);
      }
    }
  return { entries, ambiguous };
}

/**
 * What recorded runs (`compat record`) found, every process image of every log: the objects they
 * dlopen()ed too, which no reading of the ELF files predicts. The logs must agree on LD_LIBRARY_PATH.
 */
export function foundInLogs(logs: string[]): { found: Array<Array<{ name: string; path: string; via: TraceVia }>>; ldLibraryPath?: string; machine?: string } {
  const found: Array<Array<{ name: string; path: string; via: TraceVia }>> = [];
  let ldLibraryPath: string | undefined;
  let first = '';
  for (const file of logs) {
    const log = readLog(file);
    if (log.header.backend && log.header.backend !== 'audit') throw new TraceError(file, `recorded with the ${log.header.backend} backend: only the audit backend sees how the loader found each object`);
    const llp = log.header.env?.LD_LIBRARY_PATH ?? '';
    if (ldLibraryPath !== undefined && llp !== ldLibraryPath) throw new TraceError(file, `recorded with another LD_LIBRARY_PATH than ${first}: one table serves one search path`);
    ldLibraryPath ??= llp;
    first ||= file;
    for (const img of imagesOf(log)) found.push(foundSearches(recordedTrace(img).trace));
  }
  return { found, ...(ldLibraryPath !== undefined ? { ldLibraryPath } : {}) };
}

/** The table the loader would produce on this node for these programs, resolved by compat's loader rules (and primed from recordings). */
export function buildLocationCache(programs: string[], opts: CacheBuildOptions & { fromTrace?: string[] } = {}): LocationCache {
  const logs = opts.fromTrace ?? [];
  if (programs.length === 0 && logs.length === 0) throw new FormatError('(no input)', 'not-found', 'give at least one program or --from-trace LOG');
  const recorded = logs.length ? foundInLogs(logs) : undefined;
  if (recorded?.ldLibraryPath !== undefined && opts.ldLibraryPath !== undefined && opts.ldLibraryPath !== recorded.ldLibraryPath) throw new TraceError(logs[0]!, 'recorded with another LD_LIBRARY_PATH than --ld-library-path');
  const ldLibraryPath = opts.ldLibraryPath ?? recorded?.ldLibraryPath ?? process.env.LD_LIBRARY_PATH ?? '';
  const traces: LoadTrace[] = [];
  let machine = '';
  for (const p of programs) {
    const report = dependencyReport(p, { ldLibraryPath, cwd: opts.cwd });
    if (report.linkage !== 'dynamic') throw new FormatError(p, 'not-elf', report.linkage === 'static' ? 'is statically linked: the loader searches nothing for it' : 'is a script: name its interpreter instead');
    machine ||= report.machine ?? '';
    if (report.trace) traces.push(report.trace);
  }
  return cacheFromFound([...traces.map(foundSearches), ...(recorded?.found ?? [])], { machine: machine || process.arch.replace('x64', 'x86_64'), ldLibraryPath, sources: [...programs, ...logs], created: opts.created });
}

export function cacheFromFound(found: Array<Array<{ name: string; path: string; via: TraceVia }>>, meta: { machine: string; ldLibraryPath: string; sources: string[]; created?: Date }): LocationCache {
  const { entries, ambiguous } = mergeFound(found);
  const rows: CacheEntry[] = [];
  for (const [name, { path, via }] of entries) {
    try {
      rows.push({ name, path, via, ...identity(path) });
    } catch {
      // Gone since it was found: the loader will search for it.
    }
  }
  rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    mediaType: CACHE_MEDIA_TYPE,
    version: 1,
    created: (meta.created ?? new Date()).toISOString(),
    host: hostname(),
    machine: meta.machine,
    ...glibcField(),
    ldLibraryPath: meta.ldLibraryPath,
    sources: meta.sources,
    entries: rows,
    ...(ambiguous.size ? { ambiguous: [...ambiguous].map(([name, paths]) => ({ name, paths: [...paths].sort() })) } : {}),
  };
}

function glibcField(): { glibc?: string } {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? { glibc: header.glibcVersionRuntime } : {};
}

const FIELD_SAFE = /^[^\t\n\r]*$/;

/** The audit module's table: a header and one tab-separated line per entry (see native/cache.c). */
export function nativeTable(cache: LocationCache): string {
  if (!FIELD_SAFE.test(cache.ldLibraryPath)) throw new Error('LD_LIBRARY_PATH with a tab or newline cannot be cached');
  const lines = ['#compat-location-cache 1', `#ld_library_path ${cache.ldLibraryPath}`];
  for (const e of cache.entries) {
    if (!FIELD_SAFE.test(e.name) || !FIELD_SAFE.test(e.path) || !e.path.startsWith('/')) continue;
    lines.push([e.name, e.path, e.dev, e.ino, e.size, e.mtimeNs, e.entryIno].join('\t'));
  }
  return `${lines.join('\n')}\n`;
}

const DECIMAL = /^\d{1,20}$/;

/** Reads a cache file's JSON, refusing anything that is not one (the audit module trusts what it is given). */
export function parseLocationCache(text: string, source: string): LocationCache {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new FormatError(source, 'corrupt', `not JSON: ${(e as Error).message}`);
  }
  const c = v as Partial<LocationCache>;
  if (!c || typeof c !== 'object' || c.mediaType !== CACHE_MEDIA_TYPE) throw new FormatError(source, 'corrupt', `not a compat location cache (mediaType ${CACHE_MEDIA_TYPE} expected)`);
  if (c.version !== 1) throw new FormatError(source, 'corrupt', `location cache version ${String(c.version)} is not supported (1 is)`);
  if (typeof c.ldLibraryPath !== 'string' || !Array.isArray(c.entries)) throw new FormatError(source, 'corrupt', 'location cache without ldLibraryPath or entries');
  c.entries.forEach((e, i) => {
    const ok = e && typeof e.name === 'string' && typeof e.path === 'string' && e.path.startsWith('/') && [e.entryIno, e.dev, e.ino, e.size, e.mtimeNs].every((x) => typeof x === 'string' && DECIMAL.test(x));
    if (!ok) throw new FormatError(source, 'corrupt', `location cache entry ${i} is malformed`);
  });
  return c as LocationCache;
}
