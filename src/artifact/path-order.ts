/**
 * The order `String#localeCompare` gives, for the paths a spec lists, without creating ICU's
 * collator: its first use costs a `gen` process ~9 ms (the table of available locales), more than
 * sorting the paths. Under the root collation (CLDR root; English adds no tailoring), printable
 * ASCII has no contractions and no ignorable characters, every character one primary weight and
 * letters of both cases one primary with lower case first at the tertiary level. So two such
 * strings compare by primary weights, shorter first when one is a prefix, then by case. Anything
 * else (another character, a locale that may tailor the order) is left to localeCompare itself.
 */

/** Printable ASCII in root-collation order; characters in one group share their primary weight. */
const ROOT_ORDER = [' ', '_', '-', ',', ';', ':', '!', '?', '.', "'", '"', '(', ')', '[', ']', '{', '}', '@', '*', '/', '\\', '&', '#', '%', '`', '^', '+', '<', '=', '>', '|', '~', '$', ...'0123456789', ...'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => c + c.toUpperCase())];

/** Primary weight by character code (0: not printable ASCII). */
const PRIMARY = new Uint8Array(128);
ROOT_ORDER.forEach((group, i) => {
  for (const c of group) PRIMARY[c.charCodeAt(0)] = i + 1;
});

const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;

/** Does the default locale ICU would pick (LC_ALL, else LC_MESSAGES, else LANG) collate as the root does? */
export function rootCollation(env: NodeJS.ProcessEnv): boolean {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return locale === '' || /^(C|POSIX)([._@]|$)/.test(locale) || /^en([_.@-]|$)/.test(locale);
}

const fastPath = rootCollation(process.env);

/** Sign as `a.localeCompare(b)` gives it. */
export function comparePaths(a: string, b: string): number {
  if (!fastPath) return a.localeCompare(b);
  const n = Math.min(a.length, b.length);
  let tertiary = 0;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    const px = x < 128 ? PRIMARY[x]! : 0;
    const py = y < 128 ? PRIMARY[y]! : 0;
    if (px === 0 || py === 0) return a.localeCompare(b);
    if (px !== py) return px < py ? -1 : 1;
    if (tertiary === 0 && x !== y) tertiary = isUpper(x) ? 1 : -1;
  }
  for (const s of [a, b]) for (let i = n; i < s.length; i++) if (s.charCodeAt(i) >= 128 || PRIMARY[s.charCodeAt(i)] === 0) return a.localeCompare(b);
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return tertiary;
}
