import { promises as fs } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BadBlob, OciLayout } from '../registry/layout.js';

/**
 * The node's store: one OCI image layout per remote repository under `storeDir()`, so skopeo
 * reads it as `oci:DIR:tag`. Where it is, the layout of one repository, and verifying and
 * repairing it as a whole. Several processes share it: each layout serialises its index.json
 * updates with its own file lock (src/registry/layout-files.ts), and a pull repairs what it
 * finds corrupted (src/registry/pull-through.ts).
 */

export function dataHome(): string {
  return process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
}

export function storeDir(): string {
  return process.env.COMPAT_STORE || join(dataHome(), 'compat', 'store');
}

/** The store's layout for one remote repository. */
export async function storeFor(repo: { registry: string; repository: string }): Promise<OciLayout> {
  const { OciLayout } = await import('../registry/layout.js');
  return new OciLayout(join(storeDir(), repo.registry.replace(/:/g, '_'), repo.repository));
}

/** `pull -o` stages files in `<DIR's parent>/.compat-pull-XXXXXX`. */
export const PULL_STAGING_PREFIX = '.compat-pull-';

/** `push` stages directories in `<tmp>/compat-push-<pid>-XXXXXX`; older versions wrote no pid. */
export const PUSH_TEMP_PREFIX = 'compat-push-';
const PUSH_TEMP = /^compat-push-(?:(\d+)-)?[A-Za-z0-9]{6}$/;
/** Layouts sit at `<registry>/<repository path>`; deeper than this is not ours. */
const MAX_DEPTH = 16;

export interface StoreReport {
  store: string;
  layouts: number;
  blobs: number;
  bytes: number;
  bad: Array<BadBlob & { layout: string }>;
  debris: Array<{ path: string; layout?: string }>;
  dangling: Array<{ layout: string; digest: string; tag?: string }>;
  /** Layouts that could not be read at all (an index.json that is not JSON, say). */
  errors: Array<{ layout: string; message: string }>;
  repaired: boolean;
  /** True when nothing is wrong now: nothing was found, or everything found was repaired. */
  sound: boolean;
}

/** `compat store verify [--repair]`: every blob of every layout re-hashed, and kill -9 debris found. */
export async function verifyStore(opts: { repair?: boolean; store?: string } = {}): Promise<StoreReport> {
  const { OciLayout } = await import('../registry/layout.js');
  const root = opts.store ?? storeDir();
  const report: StoreReport = { store: root, layouts: 0, blobs: 0, bytes: 0, bad: [], debris: [], dangling: [], errors: [], repaired: false, sound: true };
  for (const dir of await findLayouts(root)) {
    report.layouts++;
    try {
      const r = await new OciLayout(dir).verify({ repair: opts.repair });
      report.blobs += r.blobs;
      report.bytes += r.bytes;
      report.bad.push(...r.bad.map((b) => ({ ...b, layout: dir })));
      report.debris.push(...r.debris.map((path) => ({ path, layout: dir })));
      report.dangling.push(...r.dangling.map((d) => ({ layout: dir, ...d })));
      report.repaired ||= r.repaired;
    } catch (e) {
      report.errors.push({ layout: dir, message: (e as Error).message });
    }
  }
  const leftovers = await findPushLeftovers(tmpdir());
  report.debris.push(...leftovers.map((path) => ({ path })));
  if (opts.repair) for (const p of leftovers) await fs.rm(p, { recursive: true, force: true });
  report.repaired ||= !!opts.repair && leftovers.length > 0;
  const found = report.bad.length + report.debris.length + report.dangling.length;
  report.sound = report.errors.length === 0 && (found === 0 || !!opts.repair);
  return report;
}

/** Directories under `root` holding an `oci-layout` file; symbolic links are not followed. */
async function findLayouts(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    if (entries.some((e) => e.name === 'oci-layout')) return void out.push(dir);
    if (depth >= MAX_DEPTH) return;
    for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name), depth + 1);
  };
  await walk(root, 0);
  return out.sort();
}

/**
 * Staging directories of `push` whose process is gone: only directories (never links) named
 * exactly as push names them and owned by this user. Anything else in tmp is not ours to judge.
 */
async function findPushLeftovers(tmp: string): Promise<string[]> {
  const { abandoned } = await import('../registry/layout-files.js');
  const uid = process.getuid?.();
  const out: string[] = [];
  for (const name of await fs.readdir(tmp).catch(() => [])) {
    const m = PUSH_TEMP.exec(name);
    if (!m) continue;
    const path = join(tmp, name);
    const st = await fs.lstat(path).catch(() => undefined);
    if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
    if (abandoned(m[1] !== undefined ? Number(m[1]) : undefined, st.mtimeMs)) out.push(path);
  }
  return out.sort();
}
