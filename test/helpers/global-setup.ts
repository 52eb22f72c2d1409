import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

/** CLI tests run the built binary; build once if the test command did not. */
export default async function globalSetup(): Promise<void> {
  if (!existsSync('dist/commands/check.js') || !existsSync('oclif.manifest.json')) execSync('npm run build', { stdio: 'inherit' });
}
