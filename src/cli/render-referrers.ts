import type { Referrer } from '../artifact/transfer.js';

/**
 * Referrers as ORAS's `discover --format tree` draws them: under the subject, each artifact type,
 * then its manifests, then their own referrers the same way.
 */
export function referrerTree(subject: string, referrers: Referrer[]): string {
  const lines = [subject];
  const draw = (nodes: Referrer[], indent: string) => {
    const byType = new Map<string, Referrer[]>();
    for (const r of nodes) byType.set(r.artifactType ?? '(no artifact type)', [...(byType.get(r.artifactType ?? '(no artifact type)') ?? []), r]);
    [...byType].forEach(([type, group], i) => {
      const lastType = i === byType.size - 1;
      lines.push(`${indent}${lastType ? '└── ' : '├── '}${type}`);
      const under = indent + (lastType ? '    ' : '│   ');
      group.forEach((r, j) => {
        const last = j === group.length - 1;
        lines.push(`${under}${last ? '└── ' : '├── '}${r.digest}${r.created ? `  ${r.created}` : ''}`);
        draw(r.referrers, under + (last ? '    ' : '│   '));
      });
    });
  };
  draw(referrers, '');
  return `${lines.join('\n')}\n`;
}
