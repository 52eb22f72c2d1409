import { describe, expect, it } from '@jest/globals';
import { RefListWriter, refsOfList } from '../../src/host/ref-list.js';
import { parseRefList, refName, refVersion, type Ref } from '../../src/host/symbols.js';
import { hashString } from '../../src/host/symbol-table.js';

describe('reference lists (the spec format of symbols)', () => {
  it('reads names before any @VERSION token as unversioned, then each version for the names after it', () => {
    expect(refsOfList('a b @V1 c d @V2 e @ f')).toEqual([{ name: 'a' }, { name: 'b' }, { name: 'c', version: 'V1' }, { name: 'd', version: 'V1' }, { name: 'e', version: 'V2' }, { name: 'f' }]);
  });

  it('still reads name@VERSION tokens, which do not change the version of the names after them', () => {
    expect(refsOfList('x@GLIBC_2.2.5 y @V z@W u')).toEqual([{ name: 'x', version: 'GLIBC_2.2.5' }, { name: 'y' }, { name: 'z', version: 'W' }, { name: 'u', version: 'V' }]);
  });

  it('writes from NUL-terminated bytes, one @VERSION per run of names, and reads back what it wrote', () => {
    const strtab = Buffer.from('\0free\0getenv\0lzma_code\0stdout\0', 'latin1');
    const w = new RefListWriter();
    w.add(strtab, 1, undefined);
    w.add(strtab, 6, 'GLIBC_2.2.5');
    w.add(strtab, 13, 'GLIBC_2.2.5');
    w.add(strtab, 23, 'XZ_5.0');
    w.add(strtab, 1, undefined);
    const text = w.take()!;
    expect(text).toBe('free @GLIBC_2.2.5 getenv lzma_code @XZ_5.0 stdout @ free');
    expect(refsOfList(text)).toEqual([{ name: 'free' }, { name: 'getenv', version: 'GLIBC_2.2.5' }, { name: 'lzma_code', version: 'GLIBC_2.2.5' }, { name: 'stdout', version: 'XZ_5.0' }, { name: 'free' }]);
    expect(w.take()).toBeUndefined();
  });

  it('hashes names and versions for the binding exactly as from separate strings', () => {
    const refs: Ref[] = [];
    parseRefList('f @FOO_1.0 g h@BAR_2 i', 'func', refs);
    expect(refs.map((r) => [refName(r), refVersion(r), r.nameHash, r.versionHash])).toEqual([
      ['f', undefined, hashString('f'), undefined],
      ['g', 'FOO_1.0', hashString('g'), hashString('FOO_1.0')],
      ['h', 'BAR_2', hashString('h'), hashString('BAR_2')],
      ['i', 'FOO_1.0', hashString('i'), hashString('FOO_1.0')],
    ]);
  });
});
