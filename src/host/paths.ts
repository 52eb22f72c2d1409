import { posix } from 'node:path';

/** An empty name, a doubled slash, or a `.`/`..` component: what posix.normalize would change. */
const NOT_NORMAL = /^$|\/\/|(^|\/)\.\.?(\/|$)/;

/**
 * `posix.normalize(p)`, returning `p` itself when nothing would change: a check asks the loader's
 * sources about dozens of directories, nearly all of them already normal.
 */
export function normalPath(p: string): string {
  return NOT_NORMAL.test(p) ? posix.normalize(p) : p;
}
