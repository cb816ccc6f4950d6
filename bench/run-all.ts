// `npm run bench`: every benchmark of the project, one after another (they would skew each
// other if run together on two cores), each with the baseline it is compared against measured
// in the same run. Prints one JSON report and keeps a copy in bench/results/.
//   npm run bench                       all three
//   npm run bench -- --only routing     one of spine | routing | reservations | staff-lookup | staff-load | count-import | channels | amazon
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { benchSpine } from './spine.js';
import { benchRoutingPlan } from './routing-plan.js';
import { benchReservations } from './reservations.js';
import { benchStaffLookup } from './staff-lookup.js';
import { benchStaffFirstLoad } from './staff-first-load.js';
import { benchCountImport } from './count-import.js';
import { benchChannelsSync } from './channels-sync.js';
import { benchAmazonConvergence } from './amazon-convergence.js';

const BENCHES = {
  spine: () => benchSpine(),
  routing: () => benchRoutingPlan(),
  reservations: () => benchReservations(),
  'staff-lookup': () => benchStaffLookup(),
  'staff-load': () => benchStaffFirstLoad(),
  'count-import': () => benchCountImport(),
  channels: () => benchChannelsSync(),
  amazon: () => benchAmazonConvergence(),
} as const;
type BenchName = keyof typeof BENCHES;

const cli = new Command('bench')
  .addOption(new Option('--only <names...>', 'benchmarks to run').choices(Object.keys(BENCHES)))
  .parse(process.argv);
const only = (cli.opts<{ only?: BenchName[] }>().only ?? (Object.keys(BENCHES) as BenchName[]));

const report: Record<string, unknown> = {
  startedAt: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadAverageAtStart: os.loadavg() },
};
for (const name of only) {
  process.stderr.write(`bench: ${name}…\n`);
  const t0 = performance.now();
  report[name] = await BENCHES[name]();
  process.stderr.write(`bench: ${name} done in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}
report.finishedAt = new Date().toISOString();

const out = JSON.stringify(report, null, 2);
const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, `bench-${report.startedAt as string}.json`.replace(/:/g, '-')), `${out}\n`);
process.stdout.write(`${out}\n`);
process.exit(0);
