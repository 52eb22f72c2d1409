import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandModuleLog } from '../../src/trace/module-log.js';
import { gcc, writeTree } from '../helpers/fixtures.js';

export const MODULE = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'dist', 'native', 'libcompat.so');

export interface RawEvent {
  ts: number;
  pid: number;
  tid: number;
  ev: string;
  [key: string]: unknown;
}

/**
 * Every event the module wrote into `dir` (one file per process image and role), NUL padding
 * skipped, the short candidate lines expanded by compat's reader; `raw` keeps the lines as written.
 */
export function readRawLogs(dir: string): Array<{ file: string; events: RawEvent[]; raw: unknown[] }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => {
      const raw = readFileSync(join(dir, f), 'utf8')
        .replace(/\0+$/, '')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as unknown);
      return { file: f, raw, events: expandModuleLog(raw, f) as RawEvent[] };
    });
}

/**
 * A program that needs libfoo (found through LD_LIBRARY_PATH) and libbar (through its RUNPATH),
 * dlopen()s plugin.so (which needs libdep.so through its own RUNPATH), touches files with each
 * interposed call, starts a thread that opens a file, forks a child that opens one, and forks a
 * child that execs /bin/true.
 */
export function buildProgram(dir: string): { app: string; libpath: string; data: string } {
  writeTree(dir, {
    'foo.c': 'int foo(void) { return 1; }\n',
    'bar.c': 'int bar(void) { return 2; }\n',
    'dep.c': 'int dep(void) { return 3; }\n',
    'plugin.c': 'int dep(void);\nint plugin(void) { return dep(); }\n',
    'data.txt': 'hello\n',
    'main.c': `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
int foo(void); int bar(void);
static const char *data;
static void *worker(void *arg) { (void)arg; int fd = open(data, O_RDONLY); close(fd); return 0; }
int main(int argc, char **argv) {
  data = argv[1];
  int fd = open(data, O_RDONLY); close(fd);
  fd = openat(AT_FDCWD, data, O_RDONLY); close(fd);
  FILE *f = fopen(data, "r"); fclose(f);
  struct stat st; stat(data, &st); lstat("/nonexistent/compat-missing", &st);
  access(data, R_OK);
  void *h = dlopen(argv[2], RTLD_NOW); if (!h) { fprintf(stderr, "%s\\n", dlerror()); return 3; }
  int (*plugin)(void) = (int (*)(void))dlsym(h, "plugin");
  pthread_t t; pthread_create(&t, 0, worker, 0); pthread_join(t, 0);
  pid_t c = fork(); if (c == 0) { int cfd = open(data, O_RDONLY); close(cfd); _exit(0); }
  waitpid(c, 0, 0);
  c = fork(); if (c == 0) { execl("/bin/true", "true", (char *)0); _exit(127); }
  waitpid(c, 0, 0);
  return foo() + bar() + plugin() == 6 ? 0 : 1;
}
`,
  });
  writeTree(dir, { 'ldlib/.keep': '', 'rlib/.keep': '', 'plugins/.keep': '' });
  gcc(dir, ['-shared', '-fPIC', '-o', 'ldlib/libfoo.so', 'foo.c']);
  gcc(dir, ['-shared', '-fPIC', '-o', 'rlib/libbar.so', 'bar.c']);
  gcc(dir, ['-shared', '-fPIC', '-o', 'plugins/libdep.so', 'dep.c']);
  gcc(dir, ['-shared', '-fPIC', '-o', 'plugins/plugin.so', 'plugin.c', '-Lplugins', '-ldep', '-Wl,-rpath,$ORIGIN', '-Wl,--enable-new-dtags']);
  gcc(dir, ['-o', 'app', 'main.c', '-Lldlib', '-Lrlib', '-lfoo', '-lbar', '-Wl,-rpath,$ORIGIN/rlib', '-Wl,--enable-new-dtags', '-pthread', '-ldl']);
  return { app: join(dir, 'app'), libpath: join(dir, 'ldlib'), data: join(dir, 'data.txt') };
}
