import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './fixtures.js';

const FIXTURES = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'fixtures', 'loader');

/** A fresh copy of `test/fixtures/loader/<rule>/` (its C sources) in a temp dir, to build with gcc. */
export function loaderFixture(rule: string): string {
  const dir = tempDir(`compat-${rule}-`);
  cpSync(join(FIXTURES, rule), dir, { recursive: true });
  return dir;
}
