import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';

/** Why a file could not be read as what it claims to be; `kind` lets callers tell the cases apart. */
export type FormatErrorKind = 'not-found' | 'unreadable' | 'is-directory' | 'not-elf' | 'truncated' | 'corrupt';

export class FormatError extends Error {
  readonly expose = true;
  constructor(
    readonly file: string,
    readonly kind: FormatErrorKind,
    detail: string,
    /** The system's error code when a file system call failed (EACCES, EIO…). */
    readonly code?: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'FormatError';
  }
}

/** Headers, program headers and the dynamic section are small: read a page at a time. */
const BLOCK = 4096;
/** Ranges up to this many blocks go through the block cache; longer ones are read straight. */
const SPAN_BLOCKS = 16;
/** Blocks read at once when a file is first touched at its start. */
const HEAD_BLOCKS = 4;
/**
 * Pages are read into shared chunks of this size rather than a buffer each: a buffer of its own per
 * 4 KiB page cost gen an allocation and a garbage-collected ArrayBuffer for every page of every file.
 */
const CHUNK = 256 * 1024;
/** Chunks kept for the next file (a reader holds one or two). */
const POOL_MAX = 4;
const pool: Buffer[] = [];

/**
 * Random access to a file by offset, never holding more than the blocks touched.
 * Every read is bounds-checked against the file's size so a lying header cannot
 * make us read past the end or allocate absurd buffers.
 *
 * What `bytes` returns is a view of memory the next reader reuses: valid until `close`, so copy
 * (decode, hash) what must outlive the reader.
 */
export class FileReader {
  readonly size: number;
  /** The file's mode bits as fstat gave them when it was opened. */
  readonly mode: number;
  private readonly fd: number;
  private readonly blocks = new Map<number, Buffer>();
  private chunks: Buffer[] = [];
  private used = CHUNK;

  private constructor(
    readonly path: string,
    fd: number,
    size: number,
    mode: number,
  ) {
    this.fd = fd;
    this.size = size;
    this.mode = mode;
  }

  /**
   * `known`: what an lstat of `path` just said, when it said regular file (a caller that looked
   * already spares the fstat; a file swapped since reads as truncated, never stalls).
   */
  static open(path: string, known?: { size: number; mode: number; isFile(): boolean }): FileReader {
    let fd: number;
    try {
      // Non-blocking, so a FIFO or a device named like a library cannot stall the open.
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      throw fileSystemError(path, e);
    }
    if (known?.isFile()) return new FileReader(path, fd, known.size, known.mode);
    try {
      const st = fstatSync(fd);
      if (st.isDirectory()) throw new FormatError(path, 'is-directory', 'is a directory, expected a file');
      if (!st.isFile()) throw new FormatError(path, 'unreadable', `is a ${fileTypeName(st)}, not a regular file`);
      return new FileReader(path, fd, st.size, st.mode);
    } catch (e) {
      closeSync(fd);
      throw e instanceof FormatError ? e : fileSystemError(path, e);
    }
  }

  close(): void {
    closeSync(this.fd);
    this.blocks.clear();
    for (const c of this.chunks) if (pool.length < POOL_MAX) pool.push(c);
    this.chunks = [];
    this.used = CHUNK;
  }

  /** `len` bytes at `off`; throws `truncated` if the range leaves the file. */
  bytes(off: number, len: number, what: string): Buffer {
    if (!Number.isSafeInteger(off) || !Number.isSafeInteger(len) || off < 0 || len < 0 || off + len > this.size) {
      throw new FormatError(this.path, 'truncated', `${what} at offset ${off} (+${len}) lies beyond the end of the file (${this.size} bytes)`);
    }
    const first = Math.floor(off / BLOCK);
    const last = Math.floor((off + len - 1) / BLOCK);
    // The first pages in one read: headers, and in most objects the dynamic symbol and string
    // tables, versions and relocations right after them.
    if (first === 0 && !this.blocks.has(0) && this.size > 0) this.span(0, Math.min(HEAD_BLOCKS, Math.ceil(this.size / BLOCK)) - 1, 0, 0, what);
    if (len > 0 && first === last) {
      const b = this.block(first);
      const start = off - first * BLOCK;
      return b.subarray(start, start + len);
    }
    // A few pages (a string table across a page boundary, .dynsym with its neighbours): through the
    // page cache above, so the pages the next call asks for are already read.
    if (last - first < SPAN_BLOCKS) return this.span(first, last, off, len, what);
    const out = this.take(len);
    let done = 0;
    while (done < len) {
      const n = this.readInto(out, done, len - done, off + done);
      if (n === 0) throw new FormatError(this.path, 'truncated', `${what}: file shrank while reading`);
      done += n;
    }
    return out;
  }

  /** `len` bytes of memory for this reader: from its chunk while it has room, else a buffer of its own. */
  private take(len: number): Buffer {
    if (len > CHUNK / 4) return Buffer.allocUnsafe(len);
    if (this.used + len > CHUNK) {
      this.chunks.push(pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK));
      this.used = 0;
    }
    const start = this.used;
    this.used += len;
    return this.chunks[this.chunks.length - 1]!.subarray(start, start + len);
  }

  /** `len` bytes at `off` from blocks `first..last`, reading each run of missing blocks with one call. */
  private span(first: number, last: number, off: number, len: number, what: string): Buffer {
    for (let i = first; i <= last; i++) {
      if (this.blocks.has(i)) continue;
      let j = i;
      while (j < last && !this.blocks.has(j + 1)) j++;
      const start = i * BLOCK;
      const want = Math.min((j + 1) * BLOCK, this.size) - start;
      const buf = this.take(want);
      let done = 0;
      while (done < want) {
        const n = this.readInto(buf, done, want - done, start + done);
        if (n === 0) break;
        done += n;
      }
      for (let k = i; k <= j; k++) this.blocks.set(k, buf.subarray((k - i) * BLOCK, Math.min((k - i + 1) * BLOCK, done)));
      // The whole range in one read (the usual case): no copy.
      if (i === first && j === last && done >= off + len - start) return buf.subarray(off - start, off - start + len);
      i = j;
    }
    const out = this.take(len);
    let at = 0;
    for (let i = first; i <= last && at < len; i++) {
      const b = this.blocks.get(i)!;
      const from = i === first ? off - first * BLOCK : 0;
      const n = Math.min(b.length - from, len - at);
      if (n <= 0) break;
      b.copy(out, at, from, from + n);
      at += n;
    }
    if (at < len) throw new FormatError(this.path, 'truncated', `${what}: file shrank while reading`);
    return out;
  }

  private block(i: number): Buffer {
    let b = this.blocks.get(i);
    if (!b) {
      const start = i * BLOCK;
      const len = Math.min(BLOCK, this.size - start);
      b = this.take(len);
      let done = 0;
      while (done < len) {
        const n = this.readInto(b, done, len - done, start + done);
        if (n === 0) break;
        done += n;
      }
      b = b.subarray(0, done);
      this.blocks.set(i, b);
    }
    return b;
  }

  private readInto(buf: Buffer, at: number, len: number, pos: number): number {
    try {
      return readSync(this.fd, buf, at, len, pos);
    } catch (e) {
      throw fileSystemError(this.path, e);
    }
  }
}

/** A regular file (through links) that exists: what the loader or the kernel can open as one. */
export function isRegularFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** What a file that is not a regular file is, in `ls -l` words. */
export function fileTypeName(st: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): string {
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symbolic link';
  return 'special file';
}

export function fileSystemError(path: string, e: unknown): FormatError {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return new FormatError(path, 'not-found', 'no such file (or a dangling symbolic link)', code);
    case 'EACCES':
    case 'EPERM':
      return new FormatError(path, 'unreadable', 'permission denied', code);
    case 'EISDIR':
      return new FormatError(path, 'is-directory', 'is a directory, expected a file', code);
    case 'ELOOP':
      return new FormatError(path, 'unreadable', 'too many levels of symbolic links', code);
    default:
      return new FormatError(path, 'unreadable', (e as Error)?.message ?? String(e), code);
  }
}
