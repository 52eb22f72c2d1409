import type { StoreReport } from '../artifact/store.js';

function kib(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** `compat store verify` for a terminal: one line per problem, then what to do about them. */
export function renderStoreReport(r: StoreReport, repair: boolean): string {
  const done = repair ? ' (removed)' : '';
  const lines = [`${r.store}: ${r.layouts} layout${r.layouts === 1 ? '' : 's'}, ${r.blobs} blob${r.blobs === 1 ? '' : 's'} (${kib(r.bytes)}) verified`];
  for (const b of r.bad) {
    const expected = b.expected.size !== undefined ? ` (expected ${b.expected.size})` : '';
    const found = b.actual ? `content is ${b.actual.digest}, ${b.actual.size} bytes${expected}` : b.reason;
    lines.push(`bad blob ${b.digest} in ${b.layout}: ${found}${done}`);
  }
  for (const d of r.dangling) lines.push(`dangling ${d.tag ? `tag ${d.tag}` : 'entry'} in ${d.layout}: manifest ${d.digest} is missing${done}`);
  for (const d of r.debris) lines.push(`debris of a killed process: ${d.path}${done}`);
  for (const e of r.errors) lines.push(`unreadable layout ${e.layout}: ${e.message}`);
  if (r.sound) lines.push(r.repaired ? 'repaired: removed blobs are fetched again by the next pull or check' : 'sound');
  else if (!repair) lines.push('run `compat store verify --repair` to remove them (bad blobs are fetched again by the next pull or check)');
  return `${lines.join('\n')}\n`;
}
