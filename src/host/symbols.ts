import type { SymbolKind } from './elf.js';
import type { Resolution } from './resolve.js';
import { scanRefList } from './ref-list.js';
import { ANY_VERSION_OK, hashString, lookup, UNVERSIONED_OK, withVersion } from './symbol-table.js';

/**
 * A reference to bind: an undefined symbol of one loaded object. Its name and version stay inside
 * `text` (a spec's list, src/host/ref-list.ts) until a problem needs them: a check binds hundreds.
 */
export interface Ref {
  kind: SymbolKind;
  nameHash: number;
  versionHash?: number;
  text: string;
  start: number;
  nameEnd: number;
  /** Where the version is in `text`, or -1 (unversioned). */
  vStart: number;
  vEnd: number;
}

export function refName(r: Ref): string {
  return r.text.slice(r.start, r.nameEnd);
}

export function refVersion(r: Ref): string | undefined {
  return r.vStart < 0 ? undefined : r.text.slice(r.vStart, r.vEnd);
}

/** Every reference of a spec's list, hashed straight from the text (no substrings; each version hashed once). */
export function parseRefList(text: string, kind: SymbolKind, out: Ref[]): void {
  let lastV = -1;
  let lastHash = 0;
  scanRefList(text, (start, nameEnd, vStart, vEnd) => {
    const ref: Ref = { kind, nameHash: hashText(text, start, nameEnd), text, start, nameEnd, vStart, vEnd };
    if (vStart >= 0) {
      if (vStart !== lastV) {
        lastV = vStart;
        lastHash = hashText(text, vStart, vEnd);
      }
      ref.versionHash = lastHash;
    }
    out.push(ref);
  });
}

/** FNV-1a of `text[start..end)` as latin1 bytes, the same hash symbol-table.ts gives the bytes. */
function hashText(text: string, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let j = start; j < end; j++) h = Math.imul(h ^ (text.charCodeAt(j) & 0xff), FNV_PRIME);
  return h >>> 0;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

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
  const text = version ? `${name}@${version}` : name;
  return { kind, nameHash: hashString(name), ...(version ? { versionHash: hashString(version) } : {}), text, start: 0, nameEnd: name.length, vStart: version ? name.length + 1 : -1, vEnd: text.length };
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
  if (ref.versionHash !== undefined && !defs.unversioned && lookup(defs.table, withVersion(ref.nameHash, ref.versionHash)) >= 0) return 'found';
  const byName = lookup(defs.table, ref.nameHash);
  if (ref.versionHash === undefined) return byName >= 0 && (byName & UNVERSIONED_OK) !== 0 ? 'found' : 'absent';
  if (defs.unversioned) return byName < 0 ? 'absent' : isVersionSource ? 'assert' : 'found';
  return byName >= 0 && (byName & ANY_VERSION_OK) !== 0 ? 'found' : 'absent';
}

/**
 * For one object, each version it needs → the index of the loaded object that answers to the
 * Verneed file naming it (as `_dl_name_match_p` compares: the name it was loaded as, its DT_SONAME).
 */
function versionSources(res: Resolution, object: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const need of res.objects[object]!.facts.verneed) {
    const suffix = `/${need.file}`;
    const i = res.objects.findIndex((o) => o.name === need.file || o.facts.soname === need.file || o.path.endsWith(suffix));
    for (const v of need.versions) out.set(versionHash(v.name), i);
  }
  return out;
}

/** Version names are few (GLIBC_2.2.5…) and asked for in every check: hashed once. */
const versionHashes = new Map<string, number>();
function versionHash(name: string): number {
  let h = versionHashes.get(name);
  if (h === undefined) {
    if (versionHashes.size >= 4096) versionHashes.clear();
    versionHashes.set(name, (h = hashString(name)));
  }
  return h;
}

/**
 * `_dl_lookup_symbol_x` / `do_lookup_x` (elf/dl-lookup.c) over the global scope: every object in
 * load order (the executable, then breadth first), the first that matches wins, so an earlier
 * definition interposes. References of the executable skip it, as the lookup for a copy
 * relocation does (its other references are not defined in it by definition). Whether a symbol is
 * found does not depend on which object answers, so a versioned reference first asks the object
 * it names (one lookup instead of one per object before it) and walks the scope only without it.
 */
export function lookupInScope(scope: ObjectSymbols[], object: number, ref: Ref, source: number): { match: Match; provider: number } {
  if (source >= 0 && source !== object) {
    const defs = scope[source]!.defs;
    if (!defs) return { match: 'found', provider: source };
    if (!defs.unversioned && checkMatch(defs, ref, false) === 'found') return { match: 'found', provider: source };
  }
  for (let i = 0; i < scope.length; i++) {
    if (i === object && object === 0) continue;
    const defs = scope[i]!.defs;
    if (!defs) return { match: 'found', provider: i };
    const m = checkMatch(defs, ref, i === source);
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
  const scope = res.objects.map((_, i) => symbolsOf(i));
  for (let i = 0; i < scope.length; i++) {
    const own = scope[i]!;
    if (!own.refs?.length) continue;
    const sources = versionSources(res, i);
    for (const ref of own.refs) {
      const { match, provider } = lookupInScope(scope, i, ref, ref.versionHash !== undefined ? (sources.get(ref.versionHash) ?? -1) : -1);
      if (match === 'found') continue;
      const version = refVersion(ref);
      out.push({
        object: i,
        symbol: refName(ref),
        ...(version ? { version } : {}),
        kind: ref.kind,
        lazy: ref.kind === 'func' && !own.bindNow,
        cause: match === 'assert' ? 'no-version-information' : 'missing',
        ...(match === 'assert' ? { provider } : {}),
      });
    }
  }
  return out;
}
