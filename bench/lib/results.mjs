// Writes a benchmark's Markdown section into bench/RESULTS.md between its own markers, replacing
// the previous run's section or appending the first one.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export function updateResults(file, name, markdown) {
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const block = `${begin}\n${markdown}\n${end}`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  writeFileSync(file, i >= 0 && j > i ? `${text.slice(0, i)}${block}${text.slice(j + end.length)}` : `${text}${text && !text.endsWith('\n') ? '\n' : ''}\n${block}\n`);
}
