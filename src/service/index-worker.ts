// Builds (or loads, when the persisted one is still fresh) the host index off the daemon's main
// thread, so calls keep being answered from the old index while a rescan reads the libraries.
import { parentPort, workerData } from 'node:worker_threads';
import { loadOrScan } from '../host/host-index.js';

const { extraDirs, cachePath, indexFile, root } = workerData as { extraDirs?: string[]; cachePath?: string; indexFile?: string; root?: string };
try {
  const t0 = performance.now();
  const { index, how } = loadOrScan({ extraDirs, cachePath, indexFile, root });
  parentPort!.postMessage({ ok: true, index, how, ms: performance.now() - t0 });
} catch (e) {
  parentPort!.postMessage({ ok: false, message: (e as Error).message || String(e) });
}
