import type { ComposeReport } from '../host/compose.js';

export function renderComposeReport(r: ComposeReport): string {
  const names = r.apps.map((a) => a.name).join(', ');
  const into = r.base ? ` in ${r.base.root}${r.base.glibc ? ` (${r.base.glibc})` : ''}` : '';
  const how = r.interpreter ? ` (interpreter ${r.interpreter})` : '';
  const lines = [r.compatible ? `${names}: can share one container${into}${how}` : `${names}: cannot share one container${into}`];
  for (const x of r.reasons) lines.push(`  - ${x.message}`);
  if (r.compatible) {
    for (const a of r.apps) lines.push(`  ${a.name} → ${a.prefix}`);
    const onPath = r.files.filter((f) => !r.apps.some((a) => f.target.startsWith(`${a.prefix}/`)));
    for (const f of onPath) lines.push(`  ${f.host ?? `${f.app}:${f.path}`} → ${f.target}`);
  }
  for (const s of r.shared) {
    if (s.conflict || s.files.every((f) => f.from === 'base')) continue;
    const files = s.files.map((f) => `${f.path} for ${f.apps.join(', ')}`).join(', ');
    lines.push(`  ${s.soname}: ${s.keptApart ? 'kept apart' : 'one file'} (${files})`);
  }
  if (r.needs.length) lines.push(`  from the base: ${r.needs.map((n) => `${n.soname} ${n.version} (${n.apps.join(', ')})`).join(', ')}`);
  for (const w of r.warnings) lines.push(`  warning: ${w.message}`);
  return `${lines.join('\n')}\n`;
}
