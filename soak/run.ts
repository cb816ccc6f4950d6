// npm run soak -- [--minutes 10] [--seed N]: runs the soak and prints its report; exit 1 if an
// invariant failed. The same seed replays the same fault schedule and load.
import { Command } from 'commander';
import { runSoak } from './soak.js';
import { formatReport } from './report.js';

const program = new Command('soak')
  .option('--minutes <n>', 'how long the load runs (the fault schedule may extend it)', '10')
  .option('--seed <n>', 'fault schedule and load seed', String(Date.now() % 1_000_000))
  .option('--short', 'the CI variant: shorter faults, one cycle')
  .parse();
const o = program.opts<{ minutes: string; seed: string; short?: boolean }>();
const result = await runSoak({
  minutes: Number(o.minutes), seed: Number(o.seed), short: Boolean(o.short),
  log: (l) => process.stderr.write(`[soak] ${l}\n`),
});
process.stdout.write(`${formatReport(result)}\n`);
process.exit(result.invariants.every((i) => i.ok) ? 0 : 1);
