import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { fileTypeName } from '../host/file-reader.js';
import { SpecError } from './errors.js';
import { validate as validateGenerated } from './spec-validator.generated.js';
import { fromLegacy, isLegacy, type LegacySpec } from './legacy.js';
import type { CompatSpec } from './spec-types.js';

export type { CompatSpec, SpecBinary } from './spec-types.js';

export { SpecError };

export const MEDIA_TYPES = {
  artifact: 'application/vnd.compspec.compat.v1',
  spec: 'application/vnd.compspec.compat.spec.v1+json',
  legacy: 'application/org.supercontainers.compspec',
  nfd: 'application/vnd.nfd.image-compatibility.v1alpha1',
} as const;

export const ANNOTATIONS = {
  name: 'io.compspec.compat.name',
  platform: 'io.compspec.compat.platform',
} as const;


type Validator = ((doc: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string }> | null };
const validator = validateGenerated as Validator;

/** The schema in manifests/ is the single definition of the format; the build compiles it ahead of time. */
function validate(doc: unknown): string | undefined {
  if (validator(doc)) return undefined;
  const e = validator.errors?.[0];
  return e ? `${e.instancePath || '(top level)'} ${e.message ?? 'is invalid'}` : 'is invalid';
}

export interface ParseOptions {
  /** Machine and class to assume for the legacy format, which records none (the node's own). */
  legacyPlatform?: { machine: string; class: 32 | 64; interpreter?: string };
}

/** A compat spec (or the seed prototype's `{version, attributes}`) from JSON text, validated. */
export function parseSpec(text: string, source: string, opts: ParseOptions = {}): CompatSpec {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SpecError(source, `not valid JSON (${(e as Error).message})`);
  }
  if (isLegacy(doc)) return fromLegacy(doc as LegacySpec, source, opts.legacyPlatform);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new SpecError(source, 'not a compat spec (expected a JSON object)');
  if (!('schemaVersion' in doc)) throw new SpecError(source, 'not a compat spec (no schemaVersion, and not the legacy {version, attributes} format)');
  const problem = validate(doc);
  if (problem) throw new SpecError(source, `invalid compat spec: ${problem}`);
  return doc as CompatSpec;
}

/**
 * The largest spec file read: far above any real application's, small enough that a wrong file
 * (a disk image, /dev/zero) is refused instead of read into memory.
 */
export const MAX_SPEC_BYTES = 64 * 1024 * 1024;

const SNIFF_BYTES = 4096;
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/**
 * Opens an input the user named, refusing what is not a regular file before reading a byte: a
 * FIFO would block, a device never end. Non-blocking, so not even the open can wait on a FIFO.
 */
function openRegular(path: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SpecError(path, code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new SpecError(path, 'is a directory, expected a spec file');
    if (!st.isFile()) throw new SpecError(path, `is a ${fileTypeName(st)}, not a regular file`);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function readAt(fd: number, path: string, buf: Buffer, at: number, pos: number): number {
  try {
    return readSync(fd, buf, at, buf.length - at, pos);
  } catch (e) {
    throw new SpecError(path, (e as Error).message);
  }
}

export type InputKind = 'json' | 'elf' | 'other';

/** What an input is, from its first bytes: a JSON object (`{` after white space), an ELF object, or other. */
export function sniffInput(path: string): { kind: InputKind; size: number } {
  const { fd, size } = openRegular(path);
  try {
    const head = Buffer.alloc(Math.min(size, SNIFF_BYTES));
    let n = 0;
    while (n < head.length) {
      const got = readAt(fd, path, head, n, n);
      if (got === 0) break;
      n += got;
    }
    return { kind: kindOfHead(head.subarray(0, n)), size };
  } finally {
    closeSync(fd);
  }
}

function kindOfHead(head: Buffer): InputKind {
  if (head.subarray(0, 4).equals(ELF_MAGIC)) return 'elf';
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  return head[i] === 0x7b ? 'json' : 'other';
}

/** A file the user named as input, read whole only if it is a regular file within `cap`; else a one-line SpecError. */
export function readInputFile(path: string, cap = MAX_SPEC_BYTES): Buffer {
  const { fd, size } = openRegular(path);
  try {
    if (size > cap) throw new SpecError(path, `is ${mib(size)}, larger than the ${mib(cap)} cap for spec files`);
    // The size is a hint: a file that grows while read is still cut off at the cap.
    let buf = Buffer.alloc(Math.min(size, cap) + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > cap) throw new SpecError(path, `grew past the ${mib(cap)} cap for spec files while being read`);
        const bigger = Buffer.alloc(Math.min(buf.length * 2, cap + 1));
        buf.copy(bigger);
        buf = bigger;
      }
      const got = readAt(fd, path, buf, n, n);
      if (got === 0) break;
      n += got;
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function mib(bytes: number): string {
  const m = bytes / (1024 * 1024);
  return `${Number.isInteger(m) ? m : m.toFixed(1)} MiB`;
}

export function readSpecFile(path: string, opts: ParseOptions = {}): CompatSpec {
  return parseSpec(readSpecBytes(path).toString('utf8'), path, opts);
}

/** A spec file's bytes, unparsed; an ELF file is named for what it is. */
export function readSpecBytes(path: string): Buffer {
  if (sniffInput(path).kind === 'elf') throw new SpecError(path, 'is an ELF file, not a spec (describe it with `compat gen`)');
  return readInputFile(path);
}

export { ociArchitecture } from './architecture.js';
