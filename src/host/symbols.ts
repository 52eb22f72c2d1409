import type { SymbolKind } from './elf.js';
import type { Resolution } from './resolve.js';
import { ANY_VERSION_OK, hashString, lookup, UNVERSIONED_OK, withVersion } from './symbol-table.js';

/** A reference to bind: an undefined symbol of one loaded object. */
export interface Ref {
  name: string;
  version?: string;
  kind: SymbolKind;
  nameHash: number;
  versionHash?: number;
}

export interface ObjectSymbols {
  /** Undefined strong references (weak ones never fail); undefined when not known (nothing to bind). */
  refs?: Ref[];
  bindNow: boolean;
  /** Its definitions; undefined when not known, which then satisfies any reference (nothing is claimed). */
  defs?: { table: Uint32Array; unversioned: boolean };
}

export interface SymbolProblem {
  /** Index of the object whose reference fails. */
  object: number;
  symbol: string;
  version?: string;
  kind: SymbolKind;
  /** A function under lazy binding: the program starts and dies at the first call. */
  lazy: boolean;
  /**
   * `missing`: no object in scope defines it ("undefined symbol"); `no-version-information`: the
   * object the version is needed from defines no versions, and `check_match` asserts on it.
   */
  cause: 'missing' | 'no-version-information';
  /** For `no-version-information`: the object that has the symbol without versions. */
  provider?: number;
}

export function makeRef(name: string, version: string | undefined, kind: SymbolKind): Ref {
  const nameHash = hashString(name);
  return version ? { name, version, kind, nameHash, versionHash: hashString(version) } : { name, kind, nameHash };
}

/** `name` or `name@VERSION`, as the spec and `ldd -r` write a reference. */
export function parseRef(s: string, kind: SymbolKind): Ref {
  const at = s.lastIndexOf('@');
  return at > 0 ? makeRef(s.slice(0, at), s.slice(at + 1), kind) : makeRef(s, undefined, kind);
}

type Match = 'found' | 'absent' | 'assert';

/**
 * One object's answer to one reference, as `check_match` (elf/dl-lookup.c) gives it: a versioned
 * reference takes the exact version (hidden or not) or a definition in an unnamed version slot; an
 * unversioned one takes slots 0-2 or a lone non-hidden later version. An object without
 * `.gnu.version` matches any version, except that glibc asserts when it is the very object the
 * version is needed from ("no version information available" earlier, then the run stops).
 */
export function checkMatch(defs: NonNullable<ObjectSymbols['defs']>, ref: Ref, isVersionSource: boolean): Match {
  const byName = lookup(defs.table, ref.nameHash);
  if (ref.versionHash === undefined) return byName >= 0 && (byName & UNVERSIONED_OK) !== 0 ? 'found' : 'absent';
  if (defs.unversioned) return byName < 0 ? 'absent' : isVersionSource ? 'assert' : 'found';
  if (lookup(defs.table, withVersion(ref.nameHash, ref.versionHash)) >= 0) return 'found';
  return byName >= 0 && (byName & ANY_VERSION_OK) !== 0 ? 'found' : 'absent';
}

/** The file a version is needed from (`vn_file` of the Verneed entry naming it), as `_dl_name_match_p` will compare it. */
function versionSource(res: Resolution, object: number, version: string): string | undefined {
  for (const need of res.objects[object]!.facts.verneed) if (need.versions.some((v) => v.name === version)) return need.file;
  return undefined;
}

function answersTo(res: Resolution, i: number, file: string | undefined): boolean {
  if (file === undefined) return false;
  const o = res.objects[i]!;
  return o.name === file || o.facts.soname === file || o.path.endsWith(`/${file}`);
}

/**
 * `_dl_lookup_symbol_x` / `do_lookup_x` (elf/dl-lookup.c) over the global scope: every object in
 * load order (the executable, then breadth first), the first that matches wins, so an earlier
 * definition interposes. References of the executable skip it, as the lookup for a copy
 * relocation does (its other references are not defined in it by definition).
 */
export function lookupInScope(res: Resolution, symbolsOf: (i: number) => ObjectSymbols, object: number, ref: Ref): { match: Match; provider: number } {
  const source = ref.version ? versionSource(res, object, ref.version) : undefined;
  for (let i = 0; i < res.objects.length; i++) {
    if (i === object && object === 0) continue;
    const defs = symbolsOf(i).defs;
    if (!defs) return { match: 'found', provider: i };
    const m = checkMatch(defs, ref, answersTo(res, i, source));
    if (m !== 'absent') return { match: m, provider: i };
  }
  return { match: 'absent', provider: -1 };
}

/**
 * Binds every strong reference of every loaded object whose references are known, as relocation
 * processing does. A missing function of an object that binds lazily is reported `lazy`: the
 * program starts and stops at the first call (`ldd -r` and `LD_BIND_NOW` see it at once).
 */
export function bindSymbols(res: Resolution, symbolsOf: (i: number) => ObjectSymbols): SymbolProblem[] {
  const out: SymbolProblem[] = [];
  for (let i = 0; i < res.objects.length; i++) {
    const own = symbolsOf(i);
    if (!own.refs) continue;
    for (const ref of own.refs) {
      const { match, provider } = lookupInScope(res, symbolsOf, i, ref);
      if (match === 'found') continue;
      out.push({
        object: i,
        symbol: ref.name,
        ...(ref.version ? { version: ref.version } : {}),
        kind: ref.kind,
        lazy: ref.kind === 'func' && !own.bindNow,
        cause: match === 'assert' ? 'no-version-information' : 'missing',
        ...(match === 'assert' ? { provider } : {}),
      });
    }
  }
  return out;
}
