import { fileURLToPath } from 'node:url';

/** The module `npm run build` compiled from native/ (absent when the build machine had no compiler). */
export function nativeModule(): string {
  return fileURLToPath(new URL('../native/libcompat.so', import.meta.url));
}
