import { describe, expect, it } from '@jest/globals';
import { expandModuleLog, MAX_EXPANDED_EVENTS } from '../../src/trace/module-log.js';

/** The module's short candidate lines (native/log.h), read back; and a crafted log that would blow up. */
const search = (name: string, ts: number) => ({ ts, pid: 7, tid: 7, ev: 'search', name, flag: 1, by: '/app' });

describe('expandModuleLog', () => {
  it('rebuilds front-coded and repeated candidates with their search’s name, stamp and thread', () => {
    const out = expandModuleLog(
      [search('liba.so', 10), [2, 0, '/p/d0'], [2, 4, '1'], search('libb.so', 20), [0, 2], search('libc.so', 30), [0, 1], [2, 3, 'x']],
      'log',
    ) as Array<Record<string, unknown>>;
    const cands = out.filter((e) => e.ev === 'search' && e.flag !== 1).map((e) => [e.name, e.flag, e.ts, e.tid]);
    expect(cands).toEqual([
      ['/p/d0/liba.so', 2, 10, 7],
      ['/p/d1/liba.so', 2, 10, 7],
      ['/p/d0/libb.so', 2, 20, 7],
      ['/p/d1/libb.so', 2, 20, 7],
      ['/p/d0/libc.so', 2, 30, 7],
      ['/p/x/libc.so', 2, 30, 7],
    ]);
  });

  it('a log whose [0,N] lines would expand past the bound is refused, naming it', () => {
    // One search of 100 candidates, then 1,000 searches that each repeat it: 100,100 events from ~1,100 lines.
    const items: unknown[] = [search('liba.so', 1)];
    for (let i = 0; i < 100; i++) items.push([2, 0, `/d${i}`]);
    for (let i = 0; i < 1000; i++) items.push(search(`lib${i}.so`, i + 2), [0, 1e9]);
    expect(() => expandModuleLog(items, '/tmp/x.audit.jsonl', 50_000)).toThrow('/tmp/x.audit.jsonl: its short candidate lines expand to more than 50000 events');
    expect(expandModuleLog(items, 'log', 200_000)).toHaveLength(1 + 100 + 1000 * 101);
    expect(MAX_EXPANDED_EVENTS).toBeGreaterThan(1_000_000);
  });
});
