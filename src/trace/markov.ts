import type { RunLog } from './events.js';
import { accessSequence } from './normalize.js';

export interface MarkovResult {
  source: string;
  /** Transitions predicted (accesses after the first). */
  predictions: number;
  /** Share of next accesses the first-order model trained on the other runs got right. */
  markov: number;
  /** Share the baseline (always the most frequent path of the other runs) got right. */
  baseline: number;
}

/**
 * The prototype's experiment: for each run, train a first-order Markov model of "which path comes
 * next" on all the other runs, then predict each next access of the held-out run.
 */
export function leaveOneOut(logs: RunLog[]): MarkovResult[] {
  const seqs = logs.map((l) => accessSequence(l.events));
  // Per run: transition counts and path counts, so the training set is all minus one.
  const trans = seqs.map((s) => {
    const t = new Map<string, Map<string, number>>();
    for (let i = 0; i + 1 < s.length; i++) {
      let row = t.get(s[i]!);
      if (!row) t.set(s[i]!, (row = new Map()));
      row.set(s[i + 1]!, (row.get(s[i + 1]!) ?? 0) + 1);
    }
    return t;
  });
  const freq = seqs.map((s) => s.reduce((m, p) => m.set(p, (m.get(p) ?? 0) + 1), new Map<string, number>()));
  return logs.map((log, k) => {
    const model = new Map<string, Map<string, number>>();
    const counts = new Map<string, number>();
    trans.forEach((t, i) => {
      if (i === k) return;
      for (const [from, row] of t) {
        let r = model.get(from);
        if (!r) model.set(from, (r = new Map()));
        for (const [to, c] of row) r.set(to, (r.get(to) ?? 0) + c);
      }
      for (const [p, c] of freq[i]!) counts.set(p, (counts.get(p) ?? 0) + c);
    });
    const top = argmax(counts);
    const best = new Map([...model].map(([from, row]) => [from, argmax(row)]));
    const s = seqs[k]!;
    let hit = 0;
    let base = 0;
    for (let i = 0; i + 1 < s.length; i++) {
      if ((best.get(s[i]!) ?? top) === s[i + 1]) hit++;
      if (top === s[i + 1]) base++;
    }
    const n = Math.max(0, s.length - 1);
    return { source: log.source, predictions: n, markov: n ? hit / n : 0, baseline: n ? base / n : 0 };
  });
}

/** The most frequent key; ties go to the one seen first. */
function argmax(m: Map<string, number>): string | undefined {
  let best: string | undefined;
  let n = -1;
  for (const [k, c] of m) if (c > n) [best, n] = [k, c];
  return best;
}

export function renderMarkov(r: MarkovResult[]): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(7);
  const rows = r.map((x) => `${pct(x.markov)} ${pct(x.baseline)} ${String(x.predictions).padStart(8)}  ${x.source}`);
  const mean = (f: (x: MarkovResult) => number) => r.reduce((a, x) => a + f(x), 0) / Math.max(1, r.length);
  return `${[' markov baseline  accesses  run', ...rows, `${pct(mean((x) => x.markov))} ${pct(mean((x) => x.baseline))}           mean`].join('\n')}\n`;
}
