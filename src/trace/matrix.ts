import { intern, levenshtein } from './distance.js';
import type { RunLog } from './events.js';
import { accessSequence } from './normalize.js';

export interface DistanceMatrix {
  names: string[];
  lengths: number[];
  /** Levenshtein distance of the normalised access sequences, row-major n × n. */
  distances: number[][];
}

export function distanceMatrix(logs: RunLog[]): DistanceMatrix {
  const seqs = intern(logs.map((l) => accessSequence(l.events)));
  const n = logs.length;
  const d = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) d[i]![j] = d[j]![i] = levenshtein(seqs[i]!, seqs[j]!);
  return { names: logs.map((l) => l.source), lengths: seqs.map((s) => s.length), distances: d };
}

export function renderTable(m: DistanceMatrix): string {
  const n = m.names.length;
  const w = Math.max(3, ...m.distances.flat().map((x) => String(x).length));
  const head = `${'#'.padStart(4)}  ${Array.from({ length: n }, (_, i) => String(i + 1).padStart(w)).join(' ')}`;
  const rows = m.distances.map((r, i) => `${String(i + 1).padStart(4)}  ${r.map((x) => String(x).padStart(w)).join(' ')}`);
  const legend = m.names.map((name, i) => `${String(i + 1).padStart(4)}  ${name} (${m.lengths[i]} accesses)`);
  return `${[head, ...rows, '', ...legend].join('\n')}\n`;
}

const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

export function renderCsv(m: DistanceMatrix): string {
  return `${['', ...m.names].map(csvCell).join(',')}\n${m.distances.map((r, i) => [csvCell(m.names[i]!), ...r].join(',')).join('\n')}\n`;
}

const xml = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** A heat map: one square per pair, white (identical) to dark red (the largest distance), with labels and values. */
export function renderSvg(m: DistanceMatrix): string {
  const n = m.names.length;
  const cell = n > 40 ? 8 : 28;
  const label = Math.min(320, 7 * Math.max(4, ...m.names.map((s) => s.length)));
  const max = Math.max(1, ...m.distances.flat());
  const size = label + n * cell + 10;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" font-family="sans-serif" font-size="11">`, `<rect width="100%" height="100%" fill="white"/>`];
  m.names.forEach((name, i) => {
    const y = label + i * cell + cell / 2 + 4;
    out.push(`<text x="${label - 4}" y="${y}" text-anchor="end">${xml(name.slice(-45))}</text>`);
    out.push(`<text transform="translate(${label + i * cell + cell / 2 + 4},${label - 4}) rotate(-90)">${xml(name.slice(-45))}</text>`);
  });
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const v = m.distances[i]![j]!;
      const t = v / max;
      const color = `rgb(255,${Math.round(255 * (1 - t))},${Math.round(255 * (1 - t) * 0.9)})`;
      out.push(`<rect x="${label + j * cell}" y="${label + i * cell}" width="${cell}" height="${cell}" fill="${color}" stroke="#ddd"><title>${xml(`${m.names[i]} vs ${m.names[j]}: ${v}`)}</title></rect>`);
      if (cell >= 20) out.push(`<text x="${label + j * cell + cell / 2}" y="${label + i * cell + cell / 2 + 4}" text-anchor="middle" font-size="9">${v}</text>`);
    }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
