// What a caller sends to `compat serve` reaches its log escaped and bounded: the real daemon
// process, its stderr as an operator's terminal or a log collector sees it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkRemote } from '../../src/service/client.js';
import { tempDir } from '../helpers/fixtures.js';
import { ensureServeBuilt, type ServerProcess, spawnServer } from './server-process.js';

let dir: string;
let daemon: ServerProcess | undefined;

beforeAll(() => {
  ensureServeBuilt();
  dir = tempDir('compat-serve-log-');
});

afterAll(() => {
  daemon?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('serve: what callers send cannot forge log lines or reach the terminal', () => {
  it('a uri with a newline and escape sequences, and a 3 MiB one: one bounded line each, no control byte', async () => {
    daemon = await spawnServer([], { XDG_CACHE_HOME: join(dir, 'cache'), XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') });
    const forged = 'forged.example/app:1\n2030-01-01T00:00:00.000Z info check forged.example/app:1 compatible 0.01 ms\u001b[2J\u001b]0;owned\u0007\r\u2028end';
    const huge = `huge.example/${'a'.repeat(3 * 1024 * 1024)}:1`;
    for (const uri of [forged, huge]) {
      const r = await checkRemote(daemon!.address, { uri });
      expect(r.status).toBe('ERROR');
    }
    await daemon!.waitForLog(/check "?huge\.example/);
    const log = daemon!.stderr();
    // Matches and lengths, not the log itself: on failure it would print 3 MiB.
    expect(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/.exec(log)?.[0] ?? 'no control character').toBe('no control character'); // only \n, as line ends
    const lines = log.split('\n');
    expect(lines.filter((l) => l.includes('forged.example')).length).toBe(1);
    expect(lines.filter((l) => /^\S+Z info check forged\.example\/app:1 compatible/.test(l)).length).toBe(0);
    const forgedLine = lines.find((l) => l.includes('forged.example'))!;
    expect(forgedLine).toContain('\\n2030-01-01T00:00:00.000Z');
    expect(forgedLine).toContain('\\u001b[2J');
    const hugeLines = lines.filter((l) => l.includes('huge.example'));
    expect(hugeLines.length).toBe(1);
    expect(/\(\+\d{7} chars\)/.exec(hugeLines[0]!)?.[0]).toMatch(/^\(\+\d{7} chars\)$/); // how much was left out
    expect(lines.map((l) => l.length).filter((n) => n >= 1024)).toEqual([]);
  });
});
