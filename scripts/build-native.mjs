// Builds native/ (the LD_AUDIT + LD_PRELOAD recorder) into dist/native/libcompat.so with the
// system C compiler. No compiler: a one-line note, and the rest of the build goes on without it
// (`compat record` then says how to get one).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'native');
const outDir = join(root, 'dist', 'native');
const out = join(outDir, 'libcompat.so');
const cc = process.env.CC || 'cc';
const sources = readdirSync(src).filter((f) => f.endsWith('.c')).sort().map((f) => join(src, f));

const flags = [
  '-shared', '-fPIC', '-O3', '-std=gnu11', '-Wall', '-Wextra', '-Wno-nonnull-compare',
  // Programs do pass NULL where glibc's headers promise they never will: keep the checks.
  '-fno-delete-null-pointer-checks',
  // No C library at all: no DT_NEEDED, so the loader searches for nothing to load the module
  // (in the audit namespace a libc.so.6 would be looked up through ld.so.cache and mapped again).
  '-nostdlib', '-ffreestanding', '-fno-builtin', '-fno-stack-protector', '-fno-tree-loop-distribute-patterns',
  '-fvisibility=hidden', '-ftls-model=initial-exec',
  '-Wl,-z,now', '-Wl,-z,relro', '-Wl,--no-undefined', '-Wl,--hash-style=gnu', '-Wl,-soname,libcompat.so',
];

mkdirSync(outDir, { recursive: true });
// Link-time optimisation lets the loader's callbacks (audit.c) inline the log's hot path (log.c):
// about 0.4 ms of a 500-directory LD_LIBRARY_PATH search. A compiler without it builds without.
// Its warnings are shown; its failure is not, since the build without it then says what is wrong.
let r = spawnSync(cc, [...flags, '-flto', '-o', out, ...sources], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
if (!r.error && r.status === 0 && r.stderr) process.stderr.write(r.stderr);
if (!r.error && r.status !== 0) r = spawnSync(cc, [...flags, '-o', out, ...sources], { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.error && r.error.code === 'ENOENT') {
  console.warn(`native: no C compiler (${cc}) found: built without the run recorder (install gcc, e.g. apt-get install gcc, and run npm run build again)`);
  process.exit(0);
}
if (r.status !== 0) process.exit(r.status ?? 1);
