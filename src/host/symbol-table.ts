/**
 * The compact form of an object's defined dynamic symbols, as the host index and the spec store it:
 * a sorted array of 32-bit entries, each the FNV-1a hash of a key with its two low bits replaced
 * by flags. Two kinds of key share the array (a dynamic symbol name never contains '@'):
 *
 * - `name@version` (the mix of the two hashes, `withVersion`), one per definition in a named version slot; bit 0 set when it is hidden (`@`,
 *   VERSYM_HIDDEN) rather than the default (`@@`). A versioned reference matches it exactly.
 * - `name`, one per symbol name, carrying what `check_match` (elf/dl-lookup.c) would accept for
 *   references that do not name this exact version: bit 0 `UNVERSIONED_OK`, an unversioned
 *   reference binds here; bit 1 `ANY_VERSION_OK`, a versioned reference binds to a definition whose
 *   version slot has no name (an object without version definitions, or without `.gnu.version`).
 *
 * 30 bits of hash per key: a false match needs a collision inside one library's own symbols.
 */

export const HIDDEN = 1;
export const UNVERSIONED_OK = 1;
export const ANY_VERSION_OK = 2;
const FLAG_BITS = 3;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over the bytes `buf[start..end)`, continuing from `h`. */
export function hashBytes(buf: Uint8Array, start: number, end: number, h = FNV_OFFSET): number {
  let x = h;
  for (let i = start; i < end; i++) x = Math.imul(x ^ buf[i]!, FNV_PRIME);
  return x >>> 0;
}

/** FNV-1a over the NUL-terminated bytes at `start` (or up to the end of `buf`). */
export function hashCString(buf: Uint8Array, start: number): number {
  let x = FNV_OFFSET;
  for (let i = start; i < buf.length; i++) {
    const b = buf[i]!;
    if (b === 0) break;
    x = Math.imul(x ^ b, FNV_PRIME);
  }
  return x >>> 0;
}

/** FNV-1a over a latin1 string (symbol names are bytes, decoded one char per byte). */
export function hashString(s: string, h = FNV_OFFSET): number {
  let x = h;
  for (let i = 0; i < s.length; i++) x = Math.imul(x ^ (s.charCodeAt(i) & 0xff), FNV_PRIME);
  return x >>> 0;
}

/**
 * The key of `name@version`, from the hashes of the name and of the version: a constant-time mix
 * (murmur3's finaliser), so an object's thousands of definitions do not rehash the same version name.
 */
export function withVersion(nameHash: number, versionHash: number): number {
  let h = (nameHash ^ Math.imul(versionHash, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The flags stored for `key` (0 when present without flags), or -1 when absent. */
export function lookup(table: Uint32Array, key: number): number {
  const want = (key & ~FLAG_BITS) >>> 0;
  let lo = 0;
  let hi = table.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (table[mid]! < want) lo = mid + 1;
    else hi = mid;
  }
  let flags = -1;
  for (let i = lo; i < table.length && (table[i]! & ~FLAG_BITS) >>> 0 === want; i++) flags = (flags < 0 ? 0 : flags) | (table[i]! & FLAG_BITS);
  return flags;
}

/** Per-definition facts about its name, packed as `hash * 8 + bits` so one numeric sort groups them by name. */
const LOW_SLOT = 1;
const UNNAMED = 2;
const LATER = 4;

/**
 * Collects one object's definitions and turns them into the sorted table. `add` mirrors the part of
 * `check_match` that depends only on the definition: its version slot, its name, its hidden bit.
 */
export class TableBuilder {
  private entries: Uint32Array;
  private n = 0;
  private names: Float64Array;
  private m = 0;

  /** `capacity`: how many definitions at most (each adds up to one entry and one name record). */
  constructor(
    private readonly hasVersym: boolean,
    capacity = 64,
  ) {
    this.entries = new Uint32Array(Math.max(16, capacity * 2));
    this.names = new Float64Array(Math.max(16, capacity));
  }

  private push(v: number): void {
    if (this.n === this.entries.length) {
      const bigger = new Uint32Array(this.entries.length * 2);
      bigger.set(this.entries);
      this.entries = bigger;
    }
    this.entries[this.n++] = v;
  }

  /** `slot`: the version index (`.gnu.version` & 0x7fff); `versionHash`: the hash of that slot's name, if it has one. */
  add(nameHash: number, slot: number, versionHash: number | undefined, hidden: boolean): void {
    const key = (nameHash & ~FLAG_BITS) >>> 0;
    if (!this.hasVersym) {
      this.push((key | UNVERSIONED_OK | ANY_VERSION_OK) >>> 0);
      return;
    }
    if (versionHash !== undefined) this.push(((withVersion(nameHash, versionHash) & ~FLAG_BITS) | (hidden ? HIDDEN : 0)) >>> 0);
    // Unversioned references take slots 0-2 (local, base, the first version) outright, and a single
    // non-hidden later version when there is exactly one (the `num_versions == 1` fallback).
    const bits = (slot < 3 ? LOW_SLOT : hidden ? 0 : LATER) | (versionHash === undefined && !hidden ? UNNAMED : 0);
    if (bits) {
      if (this.m === this.names.length) {
        const bigger = new Float64Array(this.names.length * 2);
        bigger.set(this.names);
        this.names = bigger;
      }
      this.names[this.m++] = key * 8 + bits;
    }
  }

  build(): Uint32Array {
    const names = this.names.subarray(0, this.m).sort();
    for (let i = 0; i < names.length; ) {
      const key = Math.floor(names[i]! / 8);
      const end = (key + 1) * 8;
      let bits = 0;
      let later = 0;
      for (; i < names.length && names[i]! < end; i++) {
        const b = names[i]! - key * 8;
        bits |= b;
        if (b & LATER) later++;
      }
      const flags = (bits & LOW_SLOT || later === 1 ? UNVERSIONED_OK : 0) | (bits & UNNAMED ? ANY_VERSION_OK : 0);
      if (flags) this.push((key | flags) >>> 0);
    }
    const t = this.entries.subarray(0, this.n).sort();
    let n = 0;
    for (let i = 0; i < t.length; i++) if (i === 0 || t[i] !== t[n - 1]) t[n++] = t[i]!;
    return t.slice(0, n);
  }
}

/** The table as base64 of its little-endian bytes (the spec's `symbols.defs`). */
export function tableToBase64(t: Uint32Array): string {
  const b = Buffer.alloc(t.length * 4);
  for (let i = 0; i < t.length; i++) b.writeUInt32LE(t[i]!, i * 4);
  return b.toString('base64');
}

export function tableFromBase64(s: string): Uint32Array {
  const b = Buffer.from(s, 'base64');
  const t = new Uint32Array(b.length >>> 2);
  for (let i = 0; i < t.length; i++) t[i] = b.readUInt32LE(i * 4);
  return t;
}
