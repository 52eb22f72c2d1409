import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry } from '../helpers/registry.js';

/** The tests' registry picks its own port (no port handed over from a probe that another process may take first). */
describe('startRegistry', () => {
  it('tells docker-registry to bind 127.0.0.1:0 and finds the port it got; several at once each get their own; a restart keeps it', async () => {
    const regs = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
    try {
      expect(new Set(regs.map((r) => r.port)).size).toBe(3);
      for (const r of regs) {
        expect(readFileSync(join(r.dir, 'config.yml'), 'utf8')).toMatch(/^ {2}addr: 127\.0\.0\.1:0$/m);
        expect(r.host).toBe(`127.0.0.1:${r.port}`);
        const res = await fetch(`http://${r.host}/v2/`);
        expect([res.status, res.headers.get('docker-distribution-api-version')]).toEqual([200, 'registry/2.0']);
      }
      const [first] = regs;
      await first!.stop();
      await expect(fetch(`http://${first!.host}/v2/`)).rejects.toThrow();
      await first!.restart();
      expect((await fetch(`http://${first!.host}/v2/`)).status).toBe(200);
    } finally {
      await Promise.all(regs.map((r) => r.dispose()));
    }
  });
});
