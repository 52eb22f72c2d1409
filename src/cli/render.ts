import type { CheckReport } from '../host/check.js';

export function renderReport(subject: string, r: CheckReport): string {
  const head = r.compatible ? `${subject}: compatible with this node (${r.host.machine}${r.host.glibc ? `, ${r.host.glibc}` : ''})` : `${subject}: NOT compatible with this node (${r.host.machine}${r.host.glibc ? `, ${r.host.glibc}` : ''})`;
  const lines = [head];
  for (const reason of r.reasons) lines.push(`  - ${reason.message}`);
  // A daemon of an older version sends no warnings.
  for (const w of r.warnings ?? []) lines.push(`  warning: ${w.message}`);
  for (const n of r.notes ?? []) lines.push(`  note: ${n.message}`);
  return `${lines.join('\n')}\n`;
}

/** Columns padded to their widest cell, as `docker images` prints. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return `${[line(head), ...rows.map(line)].join('\n')}\n`;
}
