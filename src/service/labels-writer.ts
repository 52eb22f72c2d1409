import type { RegistryFlags } from '../artifact/fetch-spec.js';
import type { LabelResult } from '../artifact/labels.js';
import type { HostIndex } from '../host/host-index.js';

export interface LabelsOptions {
  /** Artifact references (or spec files) to label this node for. */
  refs: string[];
  /** The NFD feature file. */
  file: string;
  /** How long NFD keeps the labels without a rewrite; 0: no expiry (then no refresh either). */
  expiryMs: number;
}

interface WriterDeps {
  registry: RegistryFlags;
  /** The index in service now. */
  index: () => HostIndex | undefined;
  info: (msg: string) => void;
  error: (msg: string) => void;
}

/**
 * `serve --labels`: the NFD feature file, kept in step with the index in service. Written at start
 * and on every new index; rewritten at half the expiry so that the labels lapse only when the
 * daemon stops writing them. One write at a time.
 */
export class LabelsWriter {
  private last?: { fingerprint: string; results: LabelResult[] };
  private queue: Promise<unknown> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    readonly opts: LabelsOptions,
    private readonly deps: WriterDeps,
  ) {}

  /** Checks every artifact against `index` and writes the file; rejects if one cannot be checked. */
  write(index: HostIndex): Promise<LabelResult[]> {
    const run = this.queue.then(() => this.writeNow(index));
    this.queue = run.catch(() => {});
    return run;
  }

  /** After a new index: a failure keeps the old file (it lapses at its expiry) and is logged. */
  update(index: HostIndex): void {
    this.write(index).catch((e: unknown) => this.deps.error(`labels not rewritten, the old ones stay until they expire: ${messageOf(e)}`));
  }

  /** Starts the refresh of the expiry. */
  start(): void {
    if (this.opts.expiryMs <= 0 || this.stopped) return;
    this.timer = setInterval(() => this.refresh(), Math.max(1000, this.opts.expiryMs / 2));
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Re-checks (a tag may have moved); if an artifact cannot be fetched now, the verdicts already
   * made against this same index are written again with a new expiry.
   */
  private refresh(): void {
    const index = this.deps.index();
    if (!index) return;
    const run = this.queue.then(async () => {
      try {
        await this.writeNow(index);
      } catch (e) {
        if (this.last?.fingerprint !== index.fingerprint) throw e;
        this.deps.error(`labels: ${messageOf(e)}; keeping the last verdicts for this index`);
        await this.render(this.last.results);
      }
    });
    this.queue = run.catch((e: unknown) => this.deps.error(`labels not refreshed, they expire as written: ${messageOf(e)}`));
  }

  /** Logs only when a label changed (or on the first write): a refresh is not news. */
  private async writeNow(index: HostIndex): Promise<LabelResult[]> {
    if (this.stopped) return this.last?.results ?? [];
    const { computeLabels } = await import('../artifact/labels.js');
    const results = await computeLabels(this.opts.refs, index, this.deps.registry);
    const changed = !this.last || labelLines(this.last.results) !== labelLines(results);
    this.last = { fingerprint: index.fingerprint, results };
    await this.render(results);
    if (changed) this.deps.info(`labels written to ${this.opts.file}: ${results.length} artifact(s), ${results.filter((r) => r.compatible).length} compatible`);
    return results;
  }

  private async render(results: LabelResult[]): Promise<void> {
    const { renderFeatureFile, writeFeatureFile } = await import('../artifact/labels.js');
    const now = new Date();
    const expiresAt = this.opts.expiryMs > 0 ? new Date(now.getTime() + this.opts.expiryMs) : undefined;
    writeFeatureFile(this.opts.file, renderFeatureFile(results, { now, expiresAt, writer: 'compat serve' }));
  }
}

function labelLines(results: LabelResult[]): string {
  return results.map((r) => `${r.label}=${r.compatible}`).join('\n');
}

function messageOf(e: unknown): string {
  return ((e instanceof Error ? e.message : String(e)) || 'unknown error').split('\n')[0]!;
}
