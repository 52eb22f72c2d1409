// Copies an OCI layout's tag to a registry with the CLI's progress bars on this process's
// terminal: argv = layout dir, tag, registry reference (HOST/REPO), concurrency.
import { progressBars } from '../../dist/cli/progress.js';
import { OciLayout, RemoteRepository, copy } from '../../dist/registry/index.js';

const [layout, tag, repository, concurrency] = process.argv.slice(2);
const bars = await progressBars({ done: 'Uploaded' });
try {
  const dst = new RemoteRepository(`${repository}:${tag}`, { plainHttp: true });
  await copy(new OciLayout(layout), tag, dst, tag, { concurrency: Number(concurrency), onProgress: bars.onProgress, onEvent: bars.onEvent });
} finally {
  bars.stop();
}
process.stdout.write('copied\n');
