import { constants, promises as fs, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { createDigester } from './digest.js';
import { RegistryError } from './errors.js';

/**
 * File primitives of an OCI layout shared by several processes: reads that never block on a FIFO
 * or device, writes a reader never sees half of, and a cross-process lock with a deadline.
 */

/** A file a temp name left by a process that no longer runs (or, for names without a pid, older than this) is debris. */
export const ORPHAN_AGE_MS = 60 * 60_000;

/** Lock timings: a holder refreshes its lock every stale/2; a killed holder's lock is taken over after `stale`. */
const LOCK_STALE_MS = 10_000;
/** How long a writer waits for the lock before giving up (longer than `stale`, so a dead holder is always outwaited). */
export const LOCK_WAIT_MS = 25_000;

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a file';
}

export function notRegular(path: string, st: Stats): RegistryError {
  return new RegistryError('LAYOUT', `${path}: not a regular file (${kindOf(st)})`);
}

/**
 * Opens a file for reading without ever blocking: O_NONBLOCK makes opening a FIFO return at once,
 * and anything but a regular file is refused before a byte is read. ENOENT is passed through.
 */
export async function openRegular(path: string): Promise<FileHandle> {
  let h: FileHandle;
  try {
    h = await fs.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    // A socket cannot be opened at all (ENXIO): say what it is.
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') throw notRegular(path, await fs.lstat(path));
    throw e;
  }
  try {
    const st = await h.stat();
    if (!st.isFile()) throw notRegular(path, st);
    return h;
  } catch (e) {
    await h.close();
    throw e;
  }
}

/** Reads a whole regular file of at most `max` bytes. */
export async function readRegular(path: string, max: number, label: string): Promise<Buffer> {
  const h = await openRegular(path);
  try {
    const { size } = await h.stat();
    if (size > max) throw new RegistryError('TOO_LARGE', `${label}: larger than ${max} bytes`);
    return await h.readFile();
  } finally {
    await h.close();
  }
}

/** Throws when `path` exists and is not a regular file (a FIFO in place of index.json, say). */
export async function assertRegularIfPresent(path: string): Promise<void> {
  let st: Stats;
  try {
    st = await fs.stat(path);
  } catch {
    return;
  }
  if (!st.isFile()) throw notRegular(path, st);
}

/** Digest (in `algorithm`) and size of a file, streamed. */
export async function hashFile(path: string, algorithm: string): Promise<{ digest: string; size: number }> {
  const h = await openRegular(path);
  const hash = createDigester(algorithm);
  let size = 0;
  try {
    for await (const c of h.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) {
      hash.update(c);
      size += c.length;
    }
  } finally {
    await h.close();
  }
  return { digest: `${algorithm}:${hash.digest('hex')}`, size };
}

/** `NAME.<pid>.<random>.tmp` beside the file: the pid tells `verify` whether its writer is still alive. */
export function tempName(path: string): string {
  return join(dirname(path), `${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Writes to a temp file, flushes it, and renames it over `path`: a reader sees the old file or the new one. */
export async function writeAtomic(path: string, text: string, beforeRename?: () => void): Promise<void> {
  const tmp = tempName(path);
  try {
    const h = await fs.open(tmp, 'wx', 0o644);
    try {
      await h.writeFile(text);
      await h.sync();
    } finally {
      await h.close();
    }
    beforeRename?.();
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** Creates `path` with `text` unless it exists; a hard link publishes it whole, so no reader sees it empty. */
export async function writeIfMissing(path: string, text: string): Promise<void> {
  const st = await fs.stat(path).catch(() => undefined);
  if (st) {
    if (!st.isFile()) throw notRegular(path, st);
    return;
  }
  const tmp = tempName(path);
  try {
    await fs.writeFile(tmp, text, { flag: 'wx', mode: 0o644 });
    await fs.link(tmp, path).catch(async (e: NodeJS.ErrnoException) => {
      // A file system without hard links: create in place (a reader may then see it empty, briefly).
      if (e.code === 'EPERM' || e.code === 'ENOTSUP' || e.code === 'EOPNOTSUPP') await fs.writeFile(path, text, { flag: 'wx', mode: 0o644 });
      else throw e;
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw new RegistryError('LAYOUT', `cannot create ${path}: ${code ?? 'error'}`);
  } finally {
    await fs.rm(tmp, { force: true });
  }
  await assertRegularIfPresent(path);
}

/**
 * Takes the cross-process lock of `path` (a `PATH.lock` directory, as proper-lockfile makes it).
 * Waits at most LOCK_WAIT_MS; a lock whose holder was killed goes stale and is taken over.
 * `check()` throws when the lock was lost meanwhile (a holder frozen past `stale`): better to fail
 * than to overwrite a newer index.
 */
export async function lockFile(path: string): Promise<{ release: () => Promise<void>; check: () => void }> {
  const { default: lockfile } = await import('proper-lockfile');
  let lost: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(path, {
      stale: LOCK_STALE_MS,
      realpath: false,
      retries: { retries: 100_000, factor: 1.3, minTimeout: 5, maxTimeout: 100, randomize: true, maxRetryTime: LOCK_WAIT_MS },
      onCompromised: (e) => {
        lost = e;
      },
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOCKED') throw new RegistryError('LAYOUT', `${path}: locked by another process for more than ${LOCK_WAIT_MS / 1000} s (${path}.lock)`);
    throw new RegistryError('LAYOUT', `${path}: cannot lock: ${code ?? (e as Error).message}`);
  }
  return {
    release: async () => {
      await release().catch(() => undefined);
    },
    check: () => {
      if (lost) throw new RegistryError('LAYOUT', `${path}: lost its lock to another process while updating it`);
    },
  };
}

/** True when no process has this pid (EPERM means one does, of another user). */
export function processGone(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** A temp file or directory is abandoned when its writer (the pid in its name) is gone; without a pid, when it is old. */
export function abandoned(pid: number | undefined, mtimeMs: number, now = Date.now()): boolean {
  if (pid !== undefined) return processGone(pid);
  return now - mtimeMs > ORPHAN_AGE_MS;
}

/**
 * `mkdir -p` for a layout's directories, one component at a time: Node's recursive mkdir retries
 * forever where a parent exists but refuses children with ENOENT (`/proc/nope`). Every failure here
 * is final and names the directory.
 */
export async function makeLayoutDirs(path: string): Promise<void> {
  const missing: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    const st = await fs.stat(p).catch(() => undefined);
    if (st?.isDirectory()) break;
    if (st) throw new RegistryError('LAYOUT', `${p}: exists and is not a directory`);
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing) {
    try {
      await fs.mkdir(p);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EEXIST' && (await fs.stat(p).catch(() => undefined))?.isDirectory()) continue;
      throw new RegistryError('LAYOUT', `${p}: cannot create directory (${err.code ?? err.message})`);
    }
  }
}
