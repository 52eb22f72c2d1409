// A program linked against `count` shared libraries of its own, and a long LD_LIBRARY_PATH in
// front of them: the case where the loader's search dominates start-up. Shared by the location
// cache's tests and bench/cache.mjs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const LINK_MAP = `
#define _GNU_SOURCE
#include <link.h>
#include <stdio.h>
#include <string.h>
static int show(struct dl_phdr_info *i, size_t n, void *d) { (void)n; (void)d; if (i->dlpi_name[0]) printf("%s\\n", i->dlpi_name); return 0; }
`;

/**
 * Builds `dir/lib/libmanyN.so` (N < count) and `dir/app`, which calls one function from each and,
 * with an argument, prints its link map (dl_iterate_phdr: the names the loader gave each object).
 * Returns the program, the library directory and a search path of `dirs` entries: empty and
 * missing directories in turn, the library directory last.
 */
export function buildManyLibs(dir, { count = 50, dirs = 500 } = {}) {
  const lib = join(dir, 'lib');
  const src = join(dir, 'src');
  mkdirSync(lib, { recursive: true });
  mkdirSync(src, { recursive: true });
  const calls = [];
  const decls = [];
  for (let i = 0; i < count; i++) {
    writeFileSync(join(src, `many${i}.c`), `int many${i}(int x) { return x + ${i}; }\n`);
    execFileSync('gcc', ['-shared', '-fPIC', '-O1', `-Wl,-soname,libmany${i}.so`, '-o', join(lib, `libmany${i}.so`), join(src, `many${i}.c`)]);
    decls.push(`int many${i}(int);`);
    calls.push(`s += many${i}(1);`);
  }
  writeFileSync(
    join(src, 'app.c'),
    `${LINK_MAP}${decls.join('\n')}\nint main(int argc, char **argv) { long s = 0; ${calls.join(' ')} if (argc > 1 && strcmp(argv[1], "--link-map") == 0) dl_iterate_phdr(show, 0); else printf("sum %ld\\n", s); return 0; }\n`,
  );
  const app = join(dir, 'app');
  const libs = Array.from({ length: count }, (_, i) => `-lmany${i}`);
  execFileSync('gcc', ['-O1', '-o', app, join(src, 'app.c'), `-L${lib}`, ...libs]);
  const search = [];
  for (let i = 0; i < dirs - 1; i++) {
    const d = join(dir, 'path', `d${i}`);
    if (i % 2 === 0) mkdirSync(d, { recursive: true });
    search.push(d);
  }
  search.push(lib);
  return { app, lib, ldLibraryPath: search.join(':'), usedPath: lib };
}
