// Preloaded into the daemon by bench/service.mjs (node --expose-gc --import this bin/run.js serve):
// on SIGUSR2 it collects garbage and appends the heap figures to $COMPAT_BENCH_PROBE as one JSON
// line, so the benchmark can tell retained memory (a leak) from garbage not yet collected (RSS).
// Touches nothing else in the daemon.
import { appendFileSync } from 'node:fs';

const out = process.env.COMPAT_BENCH_PROBE;
if (out && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc();
    globalThis.gc();
    const m = process.memoryUsage();
    appendFileSync(out, `${JSON.stringify({ at: Date.now(), heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, rss: m.rss })}\n`);
  });
}
