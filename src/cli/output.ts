import { closeSync, constants, lstatSync, openSync, readlinkSync, realpathSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Everything the CLI prints goes through here, so every command fails the same way: a write that
 * fails is `compat: stdout: <reason>` and exit 2 (never exit 1, which means "incompatible"); a
 * reader that went away (EPIPE, `compat … | head -c1`) is not an error: the rest of the output is
 * dropped and the command keeps its own exit code, as `ripgrep` does.
 */
export class OutputError extends Error {
  readonly expose = true;
  constructor(
    readonly where: string,
    readonly code: string,
    reason: string,
  ) {
    super(`${where}: ${reason}`);
    this.name = 'OutputError';
  }
}

/** The system's reason as `strerror` words it ("No space left on device"), not Node's "ENOSPC: …, write". */
export function systemReason(e: unknown): string {
  const msg = (e as Error)?.message ?? String(e);
  const m = /^[A-Z0-9]+: (.*?)(, \w+( '.*')?)?$/.exec(msg);
  const text = m ? m[1]! : msg;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function outputError(where: string, e: unknown): OutputError {
  return new OutputError(where, (e as NodeJS.ErrnoException)?.code ?? 'EIO', systemReason(e));
}

let readerGone = false;
let guarded = false;

/**
 * A stream error also arrives as an 'error' event, which the write callback already handles. oclif
 * rethrows every such event but EPIPE (a stack trace and exit 1): this writer takes that over.
 */
function guardStdout(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.removeAllListeners('error');
  process.stdout.on('error', () => {});
}

/** Writes `text` to stdout; resolves once it is written (or dropped because the reader left). */
export function out(text: string): Promise<void> {
  if (readerGone || text === '') return Promise.resolve();
  guardStdout();
  return new Promise((resolveWrite, reject) => {
    process.stdout.write(text, (err) => {
      if (!err) return resolveWrite();
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') {
        readerGone = true;
        return resolveWrite();
      }
      reject(outputError('stdout', err));
    });
  });
}

export function printJson(value: unknown): Promise<void> {
  return out(`${JSON.stringify(value, null, 2)}\n`);
}

type Destination = { kind: 'file'; path: string } | { kind: 'stdout' } | { kind: 'stream' };

/**
 * Writes `text` where the user pointed `-o`. A regular file (or a link to one) is replaced
 * atomically through a temp file, the link kept; anything else is written through as a shell's
 * `>` would: `/dev/stdout` is stdout, a character device or a FIFO gets the bytes (a FIFO waits
 * for its reader, as with `>`). Nothing that is not a regular file is ever replaced.
 */
export async function writeOutput(path: string, text: string): Promise<void> {
  const dest = destinationOf(path);
  if (dest.kind === 'stdout') return out(text);
  if (dest.kind === 'stream') return writeThrough(path, text);
  const { MakeDirsError } = await import('../host/make-dirs.js');
  const { writeFileAtomic } = await import('../host/atomic-file.js');
  try {
    writeFileAtomic(dest.path, text);
  } catch (e) {
    // A directory that cannot be made already names itself and why.
    throw e instanceof MakeDirsError ? e : outputError(path, e);
  }
}

function destinationOf(path: string): Destination {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'file', path };
    throw outputError(path, e);
  }
  if (st.isFile()) return { kind: 'file', path };
  if (st.isDirectory()) throw new OutputError(path, 'EISDIR', 'is a directory');
  if (st.isSymbolicLink()) return linkDestination(path);
  return streamDestination(path, st);
}

/** A link: to our own stdout, through /proc (written through), or to a regular file (its target replaced). */
function linkDestination(path: string): Destination {
  const hops = linkHops(path);
  const stdout = new RegExp(`^/proc/${process.pid}(/task/\\d+)?/fd/1$`);
  if (hops.some((h) => stdout.test(h))) return { kind: 'stdout' };
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new OutputError(path, 'ENOENT', 'is a dangling symbolic link');
    throw outputError(path, e);
  }
  if (st.isDirectory()) throw new OutputError(path, 'EISDIR', 'is a directory');
  // /proc's links name open files, not places: renaming over what they point at is not writing to them.
  if (st.isFile() && !hops.some((h) => h.startsWith('/proc/'))) return { kind: 'file', path: realpathSync.native(path) };
  return streamDestination(path, st);
}

function streamDestination(path: string, st: { isBlockDevice(): boolean; isSocket(): boolean }): Destination {
  if (st.isBlockDevice()) throw new OutputError(path, 'EINVAL', 'is a block device; write the spec to a file');
  if (st.isSocket()) throw new OutputError(path, 'EINVAL', 'is a socket; write the spec to a file');
  return { kind: 'stream' };
}

/** Where each link of the chain starting at `path` really lives (its directory resolved). */
function linkHops(path: string): string[] {
  const hops: string[] = [];
  let p = resolve(path);
  for (let i = 0; i < 40; i++) {
    let here: string;
    try {
      here = join(realpathSync.native(dirname(p)), basename(p));
      hops.push(here);
      if (!lstatSync(here).isSymbolicLink()) break;
      p = resolve(dirname(here), readlinkSync(here));
    } catch {
      break;
    }
  }
  return hops;
}

/** As `>` does: open without creating (O_TRUNC is ignored by FIFOs and devices), write, close. */
function writeThrough(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC | constants.O_NOCTTY);
  } catch (e) {
    throw outputError(path, e);
  }
  try {
    const buf = Buffer.from(text);
    for (let done = 0; done < buf.length; ) {
      const n = writeSync(fd, buf, done, buf.length - done);
      if (n === 0) throw new OutputError(path, 'EIO', 'accepts no more bytes');
      done += n;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw outputError(path, e);
  } finally {
    closeSync(fd);
  }
}
