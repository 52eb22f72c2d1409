import type { Bind, BindReport } from '../host/bind-check.js';

/** `HOST[:TARGET]` as a bind: the target defaults to the host path itself. */
export function parseBind(spec: string): Bind {
  const i = spec.indexOf(':');
  return i < 0 ? { host: spec, target: spec } : { host: spec.slice(0, i), target: spec.slice(i + 1) };
}

export function renderBindReport(subject: string, r: BindReport): string {
  const where = `${r.container.machine}${r.container.glibc ? `, ${r.container.glibc}` : ''}`;
  const lines = [r.compatible ? `${subject}: the host libraries can be bound in (${where})` : `${subject}: NOT compatible: the host libraries cannot be bound in as they are (${where})`];
  for (const l of r.libraries) lines.push(`  ${l.soname ?? l.target}: ${l.compatible ? 'loads' : 'does not load'} (${l.host}${l.host === l.target ? '' : ` → ${l.target}`})`);
  for (const b of r.inject) lines.push(`  inject ${b.host} → ${b.target} (needed by ${b.neededBy})`);
  if (r.libraryPath.length) lines.push(`  LD_LIBRARY_PATH=${r.libraryPath.join(':')}`);
  for (const x of r.reasons) lines.push(`  - ${x.message}`);
  for (const w of r.warnings) lines.push(`  warning: ${w.message}`);
  return `${lines.join('\n')}\n`;
}
