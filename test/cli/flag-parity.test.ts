import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAST_OPTIONS } from '../../src/cli/fast.js';
import { compatAsync, isolatedEnv, tempDir, type RunResult } from '../helpers/fixtures.js';

/**
 * Every flag of every command, parsed by the built CLI through both entries (the fast entry and
 * oclif, forced with COMPAT_NO_FASTPATH): with COMPAT_ECHO_PARSE each prints what it parsed and
 * stops. A value flag followed by a positional must take one value, never the positional.
 */
interface ManifestFlag {
  name: string;
  type: 'boolean' | 'option';
  char?: string;
  multiple?: boolean;
  options?: string[];
  dependsOn?: string[];
  required?: boolean;
}
interface ManifestCommand {
  id: string;
  args: Record<string, { required?: boolean }>;
  flags: Record<string, ManifestFlag>;
}
interface Echo {
  entry: 'fast' | 'oclif';
  command: string;
  positionals: string[];
  flags: Record<string, unknown>;
}

const manifest = JSON.parse(readFileSync('oclif.manifest.json', 'utf8')) as { commands: Record<string, ManifestCommand> };
/** Values that parse for flags with bounds; any other option flag takes '7' and '8'. */
const VALUES: Record<string, [string, string]> = { 'max-message-bytes': ['2048', '4096'] };

interface Case {
  id: string;
  name: string;
  argv: string[];
  positionals: string[];
  flag: string;
  expected: unknown;
  fast: boolean;
}

/** One command line per flag: the flag (short form when it has one) right before the positionals. */
function caseFor(cmd: ManifestCommand, flag: ManifestFlag, positionals: string[]): Case {
  const command = cmd.id.split(':');
  const [v1, v2] = flag.options ? [flag.options[0]!, flag.options[1] ?? flag.options[0]!] : (VALUES[flag.name] ?? ['7', '8']);
  const spelled = flag.char ? `-${flag.char}` : `--${flag.name}`;
  // Flags this one needs come first (with a value of their own): `--cert-file` needs `--key-file`;
  // so do the command's required flags (`bind-check --lib`, `trace perfetto -o`).
  const required = Object.values(cmd.flags).filter((f) => f.required && f.name !== flag.name).map((f) => f.name);
  const words = [...command, ...[...(flag.dependsOn ?? []), ...required].flatMap((d) => [`--${d}`, 'dep'])];
  let argv: string[];
  let expected: unknown;
  if (flag.type === 'boolean') {
    argv = [...words, spelled, ...positionals];
    expected = true;
  } else if (flag.multiple) {
    // Long form, a positional, the same flag again (short form when it has one): two values.
    argv = [...words, `--${flag.name}`, v1, ...positionals, spelled, v2];
    expected = [v1, v2];
  } else {
    argv = [...words, spelled, v1, ...positionals];
    expected = v1;
  }
  const fast = FAST_OPTIONS[cmd.id]?.[flag.name] !== undefined;
  return { id: cmd.id, name: `${cmd.id} ${argv.slice(command.length).join(' ')}`, argv, positionals, flag: flag.name, expected, fast };
}

let dir: string;
const results = new Map<string, { fast: RunResult; oclif: RunResult }>();
const cases: Case[] = [];

function positionalsFor(cmd: ManifestCommand, d: string): string[] {
  return Object.keys(cmd.args).map((_, i) => join(d, `p${i}.json`));
}

/** Runs at most `n` at once: two cores are shared. */
async function pool<T>(items: T[], n: number, f: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await f(items[next++]!);
  }));
}

beforeAll(async () => {
  dir = tempDir();
  for (let i = 0; i < 3; i++) writeFileSync(join(dir, `p${i}.json`), '{}\n');
  for (const cmd of Object.values(manifest.commands)) {
    for (const flag of Object.values(cmd.flags)) cases.push(caseFor(cmd, flag, positionalsFor(cmd, dir)));
  }
  const env = isolatedEnv(dir, { COMPAT_ECHO_PARSE: '1' });
  await pool(cases, 2, async (c) => {
    const fast = await compatAsync(c.argv, { env });
    // A command the fast entry has no table for goes from it straight to oclif: one run is both.
    const oclif = FAST_OPTIONS[c.id] ? await compatAsync(c.argv, { env: { ...env, COMPAT_NO_FASTPATH: '1' } }) : fast;
    results.set(c.name, { fast, oclif });
  });
}, 600_000);

/** Numbers (integer and seconds flags) compared as the words typed. */
function asText(v: unknown): unknown {
  return typeof v === 'number' ? String(v) : v;
}

function echoOf(r: RunResult, name: string): Echo {
  if (r.status !== 0) throw new Error(`${name}: exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Echo;
}

describe('every flag of every command parses the same through the fast entry and oclif', () => {
  it('covers every command of the manifest, and every flag the fast entry knows is one oclif knows alike', () => {
    expect(cases.length).toBeGreaterThan(50);
    for (const [id, options] of Object.entries(FAST_OPTIONS)) {
      const cmd = manifest.commands[id]!;
      for (const [name, o] of Object.entries(options)) {
        const flag = cmd.flags[name]!;
        expect({ id, name, type: flag.type === 'boolean' ? 'boolean' : 'string', multiple: !!flag.multiple, short: flag.char }).toEqual({ id, name, type: o.type, multiple: !!o.multiple, short: o.short });
      }
    }
  });

  it.each(Object.values(manifest.commands).flatMap((cmd) => Object.keys(cmd.flags).map((f) => [cmd.id, f] as const)))('%s --%s', (id, flag) => {
    const c = cases.find((x) => x.id === id && x.flag === flag)!;
    const { fast, oclif } = results.get(c.name)!;
    const a = echoOf(fast, `fast: ${c.name}`);
    const b = echoOf(oclif, `oclif: ${c.name}`);
    expect(b.entry).toBe('oclif');
    // The fast entry must really have parsed the flags it claims to know (else the comparison is empty).
    expect(a.entry).toBe(c.fast ? 'fast' : 'oclif');
    expect(b.positionals).toEqual(c.positionals);
    expect(asText(b.flags[flag])).toEqual(c.expected);
    expect({ positionals: a.positionals, flags: a.flags }).toEqual({ positionals: b.positionals, flags: b.flags });
  });
});
