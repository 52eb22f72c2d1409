import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Source files under `dir` whose built twin in dist/ is missing or older. */
function stale(dir: string): boolean {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (stale(p)) return true;
    } else if (/\.(ts|js)$/.test(e.name) && !e.name.endsWith('.d.ts')) {
      const built = join('dist', p.slice('src/'.length)).replace(/\.ts$/, '.js');
      if (!existsSync(built) || statSync(built).mtimeMs < statSync(p).mtimeMs) return true;
    }
  }
  return false;
}

/** native/ sources newer than the module built from them. */
function nativeStale(): boolean {
  const built = join('dist', 'native', 'libcompat.so');
  if (!existsSync(built)) return true;
  const at = statSync(built).mtimeMs;
  return readdirSync('native').some((f) => statSync(join('native', f)).mtimeMs > at);
}

/** CLI tests run the built binary: build when the test command did not, or the build is stale. */
export default async function globalSetup(): Promise<void> {
  if (!existsSync('oclif.manifest.json') || stale('src') || nativeStale()) execSync('npm run build', { stdio: 'inherit' });
}
