import type { CheckReport } from '../host/check.js';

export function renderReport(subject: string, r: CheckReport): string {
  const head = r.compatible ? `${subject}: compatible with this node (${r.host.machine}${r.host.glibc ? `, ${r.host.glibc}` : ''})` : `${subject}: NOT compatible with this node (${r.host.machine}${r.host.glibc ? `, ${r.host.glibc}` : ''})`;
  const lines = [head];
  for (const reason of r.reasons) lines.push(`  - ${reason.message}`);
  return `${lines.join('\n')}\n`;
}
