import type { ProgressCallback } from '../registry/target.js';

/** Bars on a terminal, nothing otherwise (pipes and logs stay clean). */
export async function progressBars(): Promise<{ onProgress?: ProgressCallback; stop: () => void }> {
  if (!process.stderr.isTTY) return { stop: () => {} };
  const { default: cliProgress } = await import('cli-progress');
  const multi = new cliProgress.MultiBar(
    { stream: process.stderr, format: ' {name} [{bar}] {percentage}% {done}/{size}', hideCursor: true, clearOnComplete: false, barsize: 30 },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, ReturnType<typeof multi.create>>();
  const mb = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.ceil(n / 1e3)} kB`);
  return {
    onProgress: (p) => {
      let bar = bars.get(p.descriptor.digest);
      if (!bar) {
        bar = multi.create(p.total, 0, { name: p.descriptor.digest.slice(7, 19), size: mb(p.total), done: mb(0) });
        bars.set(p.descriptor.digest, bar);
      }
      bar.update(p.bytes, { done: mb(p.bytes) });
    },
    stop: () => multi.stop(),
  };
}
