const UNIT_MS: Record<string, number> = { h: 3600_000, m: 60_000, s: 1000 };

/**
 * A duration as Go and kubectl write them (`1h`, `30m`, `90s`, `1h30m`), or a bare number of
 * seconds; `0` is none. Returns milliseconds.
 */
export function parseDuration(flag: string, raw: string): number {
  const text = raw.trim();
  const fail = () => new Error(`--${flag} ${raw}: expected a duration such as 1h, 30m, 90s or 0`);
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (!/^(\d+(\.\d+)?[hms])+$/.test(text)) throw fail();
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)([hms])/g)) ms += Number(n) * UNIT_MS[unit!]!;
  if (!Number.isFinite(ms)) throw fail();
  return Math.round(ms);
}
