import { readElf } from './elf.js';
import { FormatError } from './file-reader.js';
import { DiskLoader } from './loader.js';
import { bindSymbols, makeRef, type ObjectSymbols, type SymbolProblem } from './symbols.js';

export interface UndefinedSymbol extends Omit<SymbolProblem, 'object' | 'provider'> {
  /** The object whose reference fails (as `ldd -r` names it). */
  object: string;
}

/**
 * What `ldd -r` reports for one file, without running anything: its load graph on this machine,
 * every object's references read from disk and bound over the global scope as the loader does.
 */
export function undefinedSymbols(path: string, loader = new DiskLoader({})): UndefinedSymbol[] {
  const elf = readElf(path);
  if (!elf.dynamic) return [];
  const res = loader.resolve(path, elf);
  const known = new Map<string, ObjectSymbols>();
  const symbolsOf = (i: number): ObjectSymbols => {
    const p = res.objects[i]!.path;
    let s = known.get(p);
    if (!s) known.set(p, (s = readObjectSymbols(p)));
    return s;
  };
  return bindSymbols(res, symbolsOf).map(({ object, provider: _provider, ...rest }) => ({ ...rest, object: res.objects[object]!.path }));
}

/** An object's references and definitions read from its file (nothing known when it cannot be read). */
export function readObjectSymbols(path: string): ObjectSymbols {
  let s;
  try {
    s = readElf(path, { symbols: 'all' }).symbols;
  } catch (e) {
    if (e instanceof FormatError) return { bindNow: false };
    throw e;
  }
  if (!s) return { bindNow: false };
  return { bindNow: s.bindNow, refs: s.refs.filter((r) => !r.weak).map((r) => makeRef(r.name, r.version, r.kind)), defs: { table: s.defs, unversioned: !s.hasVersym } };
}
