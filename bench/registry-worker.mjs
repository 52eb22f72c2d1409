// One transfer in its own process (so the benchmark measures its peak RSS alone).
//   push LAYOUT_DIR HOST/REPO:TAG    |    pull HOST/REPO:TAG LAYOUT_DIR
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const lib = await import(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'registry', 'index.js'));
const [mode, a, b] = process.argv.slice(2);
const opts = { plainHttp: true, chunkBytes: Number(process.env.BENCH_CHUNK_MB ?? 16) << 20 };
if (mode === 'push') {
  const ref = lib.parseReference(b);
  await lib.copy(await lib.OciLayout.open(a), 'big', new lib.RemoteRepository(ref, opts), ref.tag);
} else if (mode === 'pull') {
  const ref = lib.parseReference(a);
  await lib.copy(new lib.RemoteRepository(ref, opts), ref.tag, await lib.OciLayout.open(b), ref.tag);
} else {
  console.error('usage: push LAYOUT REF | pull REF LAYOUT');
  process.exit(2);
}
