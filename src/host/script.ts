import { statSync } from 'node:fs';
import { posix } from 'node:path';

/** env options that take no argument and change nothing about which program runs. */
const SIMPLE_FLAGS = new Set(['-i', '-', '-0', '--ignore-environment', '--null', '-v', '--debug']);

/**
 * The program `#!/usr/bin/env ARG` runs. The kernel (fs/binfmt_script.c: load_script) passes the
 * rest of the `#!` line as one argument, so without `-S` the whole of it is the program's name
 * (`env 'python3 -u'` fails: no such file); with `-S` env splits it (coreutils env.c:
 * parse_split_string) and runs the first word that is neither an option nor `NAME=VALUE`.
 * Undefined when this cannot be told without running env (other options, an assignment alone).
 */
export function envProgram(argument: string | undefined): string | undefined {
  if (!argument) return undefined;
  if (!argument.startsWith('-')) return argument.includes('=') ? undefined : argument;
  const split = /^-S\s*(.*)$/s.exec(argument) ?? /^--split-string(?:=|\s+)(.*)$/s.exec(argument);
  if (!split) return undefined;
  const words = split[1]!.trim().split(/\s+/).filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-u' || w === '-C' || w === '--unset' || w === '--chdir') {
      i++;
      continue;
    }
    if (SIMPLE_FLAGS.has(w) || /^[^=/-][^=/]*=/.test(w)) continue;
    if (w.startsWith('-')) return undefined;
    return w;
  }
  return undefined;
}

/**
 * Where `execvp` finds `name` (glibc posix/execvpe.c): a name with a `/` is taken as is; otherwise
 * each `PATH` element in order (an empty one is the current directory; no `PATH` at all means
 * `/bin:/usr/bin`), the first regular file with an execute bit. Undefined when none is.
 */
export function findOnPath(name: string, path: string | undefined, cwd: string, onHost: (p: string) => string = (p) => p): string | undefined {
  // `onHost`: where a path of the system the program runs on lies here (a root checked as the node).
  if (name.includes('/')) return isExecutable(onHost(posix.resolve(cwd, name))) ? posix.resolve(cwd, name) : undefined;
  for (const dir of (path ?? '/bin:/usr/bin').split(':')) {
    const p = posix.resolve(cwd, dir || '.', name);
    if (isExecutable(onHost(p))) return p;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    const st = statSync(p);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}
