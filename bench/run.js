// `npm run bench` entry: builds dist/ when it is missing, runs the core benchmarks, then the
// registry and daemon benchmarks when their scripts exist. Arguments pass through (e.g. `--quick`):
//
//   npm run bench -- --quick
//   npm run bench -- --only gen,check --md /tmp/core.md
//   npm run bench -- --update-results     (rewrite the core section of bench/RESULTS.md)

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { updateResults } from './lib/results.mjs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const args = process.argv.slice(2);

// What the benchmarks import or spawn; any one missing means dist/ needs building.
const NEEDED = ['dist/artifact/gen.js', 'dist/host/loader.js', 'dist/host/elf.js', 'dist/host/host-index.js', 'dist/commands/gen.js', 'dist/commands/check.js'];
if (NEEDED.some((f) => !existsSync(join(ROOT, f)))) {
  process.stderr.write('dist/ is missing or incomplete: npm run build\n');
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write(`npm run build failed (${r.error?.message ?? `exit ${r.status}`})\n`);
    process.exit(1);
  }
}

const core = await import('./core.mjs');
const { markdown } = await core.main(args);

if (args.includes('--update-results')) {
  const file = join(HERE, 'RESULTS.md');
  updateResults(file, 'core', markdown);
  process.stderr.write(`updated ${file}\n`);
}

const registry = join(HERE, 'registry.mjs');
if (existsSync(registry)) {
  process.stderr.write('\n== bench/registry.mjs ==\n');
  // Either convention works: a module exporting main(args), or one that runs when imported.
  const mod = await import(pathToFileURL(registry).href);
  if (typeof mod.main === 'function') await mod.main(args);
  else if (typeof mod.default === 'function') await mod.default(args);
}

// The daemon's load test runs in processes of its own (a server and a load generator).
const service = join(HERE, 'service.mjs');
if (existsSync(service)) {
  process.stderr.write('\n== bench/service.mjs ==\n');
  const pass = args.filter((a) => a === '--quick');
  const r = spawnSync(process.execPath, [service, ...pass], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = r.status ?? 1;
}
