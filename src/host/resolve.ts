import { posix } from 'node:path';
import { DF_1_NODEFLIB } from './elf.js';
import type { ObjectFacts, ObjectSource } from './object-source.js';
import type { LoaderPlatform } from './platform.js';

/** How an object was found, in the loader's own vocabulary. */
export type Via = 'executable' | 'interpreter' | 'path' | 'rpath' | 'LD_LIBRARY_PATH' | 'runpath' | 'ld.so.cache' | 'default';

export interface LoadedObject {
  /** The name first asked for (a DT_NEEDED entry), or the executable's own path. */
  name: string;
  path: string;
  facts: ObjectFacts;
  /** The object that caused this one to load (its index); -1 for the executable. */
  loader: number;
  via: Via;
  depth: number;
}

export interface Missing {
  name: string;
  requestedBy: number;
  /** Files by that name that the loader opened and skipped for being of another class or machine. */
  wrongClass: string[];
  /** Set when the loader would stop with an error rather than keep searching (e.g. a non-ELF file). */
  error?: string;
}

export interface Edge {
  from: number;
  name: string;
  /** Index of the object that satisfies it, or -1 when not found. */
  to: number;
}

export interface Resolution {
  objects: LoadedObject[];
  edges: Edge[];
  missing: Missing[];
  /** The executable's PT_INTERP, when the loader could not open it as a matching object. */
  interpreterProblem?: string;
}

export interface ResolveOptions {
  source: ObjectSource;
  platform: LoaderPlatform;
  /** soname → path, as the loader's ld.so.cache lookup answers for this platform. */
  cacheLookup?: (soname: string) => string | undefined;
  ldLibraryPath?: string[];
  /** Directory that `$ORIGIN` means for the executable (the kernel hands the loader its real path). */
  exeOrigin?: string;
  /** Directory relative names and relative search-path entries are taken against. */
  cwd?: string;
}

const BASIC: Via = 'executable';

/**
 * Loads an executable's dependency graph as glibc's ld.so does: breadth first, reusing an already
 * loaded object when a name matches what it was loaded as or its DT_SONAME, and searching each
 * DT_NEEDED name through RPATH (inherited, ignored under RUNPATH), LD_LIBRARY_PATH, RUNPATH,
 * ld.so.cache and the default directories, skipping files of another class or machine.
 */
export function resolveGraph(exePath: string, exe: ObjectFacts, opts: ResolveOptions): Resolution {
  const cwd = opts.cwd ?? process.cwd();
  const objects: LoadedObject[] = [{ name: exePath, path: exePath, facts: exe, loader: -1, via: BASIC, depth: 0 }];
  const names: Array<Set<string>> = [new Set([exePath])];
  const edges: Edge[] = [];
  const missing: Missing[] = [];
  const res: Resolution = { objects, edges, missing };
  const absolute = (p: string) => (p.startsWith('/') ? p : posix.join(cwd, p));
  const origins: string[] = [opts.exeOrigin ?? posix.dirname(absolute(exePath))];
  const matches = (f: ObjectFacts) => f.class === exe.class && f.machine === exe.machine && f.endian === exe.endian;
  const systemDirs = new Set(opts.platform.defaultDirs.map(trimSlash));

  // A shared object has no PT_INTERP; whatever loads it brings the platform's own loader along.
  const interpreter = exe.interpreter ?? opts.platform.interpreter;
  if (interpreter) {
    const r = opts.source.open(interpreter);
    if (r.ok && matches(r.facts)) {
      objects.push({ name: interpreter, path: interpreter, facts: r.facts, loader: -1, via: 'interpreter', depth: 0 });
      names.push(new Set([interpreter]));
      origins.push(posix.dirname(interpreter));
    } else {
      res.interpreterProblem = r.ok ? `${interpreter} is of another class or machine` : r.missing ? `${interpreter} not found` : r.message;
    }
  }

  const findLoaded = (name: string): number => {
    for (let i = 0; i < objects.length; i++) {
      if (names[i]!.has(name)) return i;
      if (objects[i]!.facts.soname === name) {
        names[i]!.add(name);
        return i;
      }
    }
    return -1;
  };

  const effectiveRpath = (f: ObjectFacts) => (f.runpath ? undefined : f.rpath);
  const nodeflib = (f: ObjectFacts) => (f.flags1 & DF_1_NODEFLIB) !== 0;

  const expandList = (list: string[] | undefined, origin: string | undefined): string[] => {
    if (!list) return [];
    const out: string[] = [];
    for (const el of list) {
      const d = expandTokens(el === '' ? '.' : el, origin, opts.platform);
      if (d === undefined) continue;
      const abs = trimSlash(absolute(d));
      if (!out.includes(abs)) out.push(abs);
    }
    return out;
  };
  const envPath = expandList(opts.ldLibraryPath, origins[0]);
  // Each object's search lists are expanded once, not once per name it or its dependents need.
  const rpathDirs: string[][] = [];
  const runpathDirs: string[][] = [];
  const rpathOf = (i: number) => (rpathDirs[i] ??= expandList(effectiveRpath(objects[i]!.facts), origins[i]));
  const runpathOf = (i: number) => (runpathDirs[i] ??= expandList(objects[i]!.facts.runpath, origins[i]));

  interface Found {
    path?: string;
    wrong: string[];
    error?: string;
  }
  const searchDirs = (dirs: string[], name: string, found: Found): boolean => {
    for (const dir of dirs) {
      for (const sub of opts.platform.subdirs) {
        const d = sub ? `${dir === '/' ? '' : dir}/${sub}` : dir;
        if (!opts.source.list(d)?.has(name)) continue;
        const path = `${d === '/' ? '' : d}/${name}`;
        const r = opts.source.open(path);
        if (r.ok) {
          if (matches(r.facts)) {
            found.path = path;
            return true;
          }
          found.wrong.push(path);
        } else if (!r.missing) {
          found.error = r.message;
          return true;
        }
      }
    }
    return false;
  };

  const search = (name: string, from: number): { path: string; via: Via } | Missing => {
    const req = objects[from]!;
    const found: Found = { wrong: [] };
    const done = (via: Via) => (found.error !== undefined ? { name, requestedBy: from, wrongClass: found.wrong, error: found.error } : { path: found.path!, via });

    if (name.includes('/')) {
      const expanded = expandTokens(name, origins[from], opts.platform);
      const path = expanded === undefined ? undefined : absoluteIfRelative(expanded, cwd);
      if (path !== undefined) {
        const r = opts.source.open(path);
        if (r.ok && matches(r.facts)) return { path, via: 'path' };
        if (r.ok) found.wrong.push(path);
        else if (!r.missing) found.error = r.message;
      }
      return { name, requestedBy: from, wrongClass: found.wrong, error: found.error };
    }

    if (!req.facts.runpath) {
      const seen = new Set<number>();
      for (let l = from; l >= 0; l = objects[l]!.loader) {
        seen.add(l);
        if (searchDirs(rpathOf(l), name, found)) return done('rpath');
      }
      if (!seen.has(0) && searchDirs(rpathOf(0), name, found)) return done('rpath');
    }
    if (searchDirs(envPath, name, found)) return done('LD_LIBRARY_PATH');
    if (searchDirs(runpathOf(from), name, found)) return done('runpath');

    const top = from >= 0 ? req.facts : exe;
    const cached = opts.cacheLookup?.(name);
    if (cached !== undefined && !(nodeflib(top) && systemDirs.has(posix.dirname(cached)))) {
      const r = opts.source.open(cached);
      if (r.ok && matches(r.facts)) return { path: cached, via: 'ld.so.cache' };
      if (r.ok) found.wrong.push(cached);
      else if (!r.missing) return { name, requestedBy: from, wrongClass: found.wrong, error: r.message };
    }
    if (!nodeflib(top) && searchDirs(opts.platform.defaultDirs.map(trimSlash), name, found)) return done('default');
    return { name, requestedBy: from, wrongClass: found.wrong, error: found.error };
  };

  for (let i = 0; i < objects.length; i++) {
    const obj = objects[i]!;
    for (const name of obj.facts.needed) {
      const hit = findLoaded(name);
      if (hit >= 0) {
        edges.push({ from: i, name, to: hit });
        continue;
      }
      const r = search(name, i);
      if ('path' in r) {
        // A different name can reach a file already loaded under another name (e.g. through a symlink).
        const same = objects.findIndex((o) => o.path === r.path);
        if (same >= 0) {
          names[same]!.add(name);
          edges.push({ from: i, name, to: same });
          continue;
        }
        const facts = (opts.source.open(r.path) as { ok: true; facts: ObjectFacts }).facts;
        objects.push({ name, path: r.path, facts, loader: i, via: r.via, depth: obj.depth + 1 });
        names.push(new Set([name]));
        origins.push(posix.dirname(absolute(r.path)));
        edges.push({ from: i, name, to: objects.length - 1 });
      } else {
        missing.push(r);
        edges.push({ from: i, name, to: -1 });
      }
    }
  }
  return res;
}

export interface VersionProblem {
  /** Index of the object that needs the version. */
  object: number;
  /** The library that should define it (the Verneed file name). */
  file: string;
  /** Index of the loaded object that was asked. */
  provider: number;
  version: string;
}

/**
 * The loader's version check (`_dl_check_map_versions`): every non-weak version an object needs
 * must be defined by the loaded object of that name. A provider with no version definitions at
 * all passes, as glibc lets it.
 */
export function versionProblems(res: Resolution): VersionProblem[] {
  const out: VersionProblem[] = [];
  const providerOf = (from: number, file: string): number => {
    const e = res.edges.find((x) => x.from === from && x.name === file && x.to >= 0);
    if (e) return e.to;
    return res.objects.findIndex((o) => o.facts.soname === file || o.name === file);
  };
  res.objects.forEach((obj, i) => {
    for (const need of obj.facts.verneed) {
      const p = providerOf(i, need.file);
      if (p < 0) continue;
      const defs = res.objects[p]!.facts.verdef;
      if (defs.length === 0) continue;
      for (const v of need.versions) {
        if (!v.weak && !defs.includes(v.name)) out.push({ object: i, file: need.file, provider: p, version: v.name });
      }
    }
  });
  return out;
}

function trimSlash(d: string): string {
  let s = d;
  while (s.length > 1 && s.endsWith('/')) s = s.slice(0, -1);
  return s;
}

function absoluteIfRelative(p: string, cwd: string): string {
  return p.startsWith('/') ? p : posix.join(cwd, p);
}

/**
 * Expands `$ORIGIN`, `$LIB`, `$PLATFORM` (and their `${…}` forms) as `_dl_dst_substitute` does.
 * An element whose known token has no value is dropped (undefined); an unknown `$X` stays as is.
 */
export function expandTokens(s: string, origin: string | undefined, platform: Pick<LoaderPlatform, 'lib' | 'platform'>): string | undefined {
  if (!s.includes('$')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    const rest = s.slice(i + 1);
    let matched: [string, number] | undefined;
    for (const tok of ['ORIGIN', 'PLATFORM', 'LIB']) {
      if (rest.startsWith(`{${tok}}`)) matched = [tok, tok.length + 2];
      else if (rest.startsWith(tok) && !/[A-Za-z0-9_]/.test(rest[tok.length] ?? '')) matched = [tok, tok.length];
      if (matched) break;
    }
    if (!matched) {
      out += '$';
      continue;
    }
    const value = matched[0] === 'ORIGIN' ? origin : matched[0] === 'LIB' ? platform.lib : platform.platform;
    if (!value) return undefined;
    out += value;
    i += matched[1];
  }
  return out;
}
