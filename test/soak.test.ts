// Issue 17: the 2-minute soak in `npm test`. The production layout (own PostgreSQL server, the
// Kafka wire-protocol broker, the API and two reconciler processes) under steady mixed load
// while every fault is injected at least once; then every invariant must hold: each 202 event
// applied exactly once (ledger = reference fold), nothing lost, nothing oversold, rebuild
// --verify clean, every partition drained, no 500, ready again within 10 s of each log or
// database fault, memory flat. Bounds are generous (a 2-core machine shared with other tests);
// no figure of speed is asserted. `npm run soak` is the 10-minute run.
import { expect, it } from 'vitest';
import { runSoak } from '../soak/soak.js';
import { formatReport } from '../soak/report.js';

it('a 2-minute soak with every fault keeps every invariant', async () => {
  const began = Date.now();
  const result = await runSoak({ minutes: 2, seed: Number(process.env.SOAK_SEED ?? 17), short: true, log: (l) => process.stderr.write(`[soak ${Math.round((Date.now() - began) / 1000)}s] ${l}\n`) });
  const report = formatReport(result);
  process.stdout.write(`${report}\n`);
  expect(result.faults.length).toBeGreaterThanOrEqual(10);
  expect(result.load.accepted.length).toBeGreaterThan(1_000);
  expect(result.invariants.filter((i) => !i.ok).map((i) => `${i.name}: ${i.detail}`)).toEqual([]);
}, 15 * 60_000);
