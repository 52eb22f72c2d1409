/** Version names as glibc's libraries define them (`GLIBC_2.34`): the highest of a family, and dotted order. */

/** The highest `PREFIX<dotted number>` among `versions` (GLIBC_2.36 over GLIBC_2.4), if any. */
export function highestVersion(versions: Iterable<string>, prefix: string): string | undefined {
  let best: string | undefined;
  for (const v of versions) {
    if (!v.startsWith(prefix) || !/^[\d.]+$/.test(v.slice(prefix.length))) continue;
    if (best === undefined || compareDotted(v.slice(prefix.length), best.slice(prefix.length)) > 0) best = v;
  }
  return best;
}

export function compareDotted(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
