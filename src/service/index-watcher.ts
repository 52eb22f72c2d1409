import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type HostIndex, isFresh, loadOrScan } from '../host/host-index.js';

export interface IndexWatcherOptions {
  /** Extra library directories the node provides (as `--path` on `check`). */
  extraDirs?: string[];
  /** The loader cache to read (default /etc/ld.so.cache; in a container, the node's, mounted elsewhere). */
  cachePath?: string;
  /** Where the index is persisted (default: `$XDG_CACHE_HOME/compat/host-index.json`). */
  indexFile?: string;
  /** The node's root file system as mounted here (`/host` in a container), indexed as if it were `/`. */
  root?: string;
  /** How often to ask whether ld.so.cache or an indexed directory changed; 0 never asks. */
  pollMs?: number;
  /** Build in a worker thread (default: when the compiled worker is there, i.e. from dist/). */
  worker?: boolean;
  /** A new index replaced the old one (or the first one is in place). */
  onIndex?: (e: IndexEvent) => void;
  /** A rebuild failed; the old index stays in service and the next poll tries again. */
  onError?: (err: Error) => void;
}

export interface IndexEvent {
  index: HostIndex;
  previous?: HostIndex;
  how: 'loaded' | 'scanned';
  ms: number;
}

interface BuildResult {
  index: HostIndex;
  how: 'loaded' | 'scanned';
  ms: number;
}

const WORKER_URL = new URL('./index-worker.js', import.meta.url);

/**
 * Holds the node's host index in memory and replaces it when the node's libraries change:
 * every `pollMs` it asks `isFresh` (one stat per indexed directory, and of /etc/ld.so.cache) and,
 * when the fingerprint moved, rebuilds off the main thread while the old index keeps answering.
 */
export class IndexWatcher {
  private index?: HostIndex;
  private timer?: NodeJS.Timeout;
  private building?: Promise<HostIndex>;
  private stopped = false;
  private worker?: Worker;
  readonly useWorker: boolean;
  rebuilds = 0;

  constructor(private readonly opts: IndexWatcherOptions = {}) {
    this.useWorker = opts.worker ?? existsSync(fileURLToPath(WORKER_URL));
  }

  /** The index in service, or undefined before the first one is loaded. */
  get current(): HostIndex | undefined {
    return this.index;
  }

  /** Loads (or scans) the first index and starts polling. */
  async start(): Promise<HostIndex> {
    const index = await this.rebuild();
    const every = this.opts.pollMs ?? 0;
    if (every > 0 && !this.stopped) {
      this.timer = setInterval(() => this.poll(), every);
      this.timer.unref();
    }
    return index;
  }

  /** One poll: rebuild when the index no longer matches the node. Returns whether it started one. */
  poll(): boolean {
    if (this.stopped || this.building || !this.index) return false;
    let fresh: boolean;
    try {
      fresh = isFresh(this.index, { extraDirs: this.opts.extraDirs, cachePath: this.opts.cachePath, root: this.opts.root });
    } catch {
      fresh = false;
    }
    if (fresh) return false;
    this.rebuild().catch(() => {
      /* reported through onError; the old index stays */
    });
    return true;
  }

  /** Builds a new index now (one at a time) and puts it in service. */
  rebuild(): Promise<HostIndex> {
    if (this.building) return this.building;
    const p = this.build(this.index);
    this.building = p;
    const clear = () => {
      if (this.building === p) this.building = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  private async build(previous: HostIndex | undefined): Promise<HostIndex> {
    try {
      const r = this.useWorker ? await this.buildInWorker() : this.buildHere();
      if (!this.stopped) {
        this.index = r.index;
        if (previous) this.rebuilds++;
        this.opts.onIndex?.({ index: r.index, previous, how: r.how, ms: r.ms });
      }
      return r.index;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.opts.onError?.(err);
      throw err;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    void this.worker?.terminate();
  }

  private buildHere(): BuildResult {
    const t0 = performance.now();
    const { index, how } = loadOrScan({ extraDirs: this.opts.extraDirs, cachePath: this.opts.cachePath, indexFile: this.opts.indexFile, root: this.opts.root });
    return { index, how, ms: performance.now() - t0 };
  }

  private buildInWorker(): Promise<BuildResult> {
    return new Promise((resolve, reject) => {
      const w = new Worker(WORKER_URL, { workerData: { extraDirs: this.opts.extraDirs, cachePath: this.opts.cachePath, indexFile: this.opts.indexFile, root: this.opts.root } });
      this.worker = w;
      let settled = false;
      const done = (f: () => void) => {
        if (settled) return;
        settled = true;
        this.worker = undefined;
        f();
      };
      w.once('message', (m: { ok: true; index: HostIndex; how: 'loaded' | 'scanned'; ms: number } | { ok: false; message: string }) => {
        done(() => (m.ok ? resolve({ index: m.index, how: m.how, ms: m.ms }) : reject(new Error(`host index: ${m.message}`))));
      });
      w.once('error', (e) => done(() => reject(e)));
      w.once('exit', (code) => done(() => reject(new Error(`host index worker exited with code ${code} before answering`))));
    });
  }
}
