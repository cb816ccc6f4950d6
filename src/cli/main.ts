// The omnistock command line: serve (all roles or one), migrate, rebuild/verify.
import { Command, Option } from 'commander';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/open-database.js';
import { rebuildPositions } from '../ledger/rebuild.js';
import { startService, type Role } from '../service/service.js';
import { progressBar } from './progress.js';
import { routeBatch } from './route-batch.js';
import { runImportCounts } from './import-counts.js';
import { runImportPostalCodes } from './import-postal-codes.js';
import { RoutingIndex } from '../routing/routing-index.js';
import { RoutingService } from '../routing/routing-service.js';
import { registerUserCommands } from './users.js';

const program = new Command('omnistock').description('Unified inventory ledger: stock events in, available-to-promise out');

const SHUTDOWN_TIMEOUT_MS = 20_000;

program
  .command('serve')
  .description('run the service (HTTP API and reconciler by default)')
  .addOption(new Option('--role <role>', 'which part to run').choices(['all', 'api', 'reconciler']).default('all'))
  .action(async (o: { role: 'all' | Role }) => {
    const config = loadConfig();
    const roles: Role[] = o.role === 'all' ? ['api', 'reconciler'] : [o.role];
    const service = await startService({ config, roles });
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      service.logger.info({ signal }, 'shutting down');
      // A graceful stop that hangs (a broker or database that stopped answering) must not keep
      // the process alive: nothing is lost by exiting, since every applied event is committed
      // with its position and anything unapplied is read again by the group.
      setTimeout(() => {
        service.logger.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'shutdown took too long; exiting');
        process.exit(1);
      }, SHUTDOWN_TIMEOUT_MS).unref();
      service.stop().then(() => process.exit(0), (err: unknown) => {
        service.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  });

program
  .command('migrate')
  .description('apply database migrations and exit')
  .action(async () => {
    const config = loadConfig();
    const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    await db.close();
    process.stdout.write('migrations applied\n');
  });

program
  .command('rebuild')
  .description('recompute every position from the ledger')
  .option('--verify', 'change nothing; print every difference and exit 1 if there is one')
  .action(async (o: { verify?: boolean }) => {
    const config = loadConfig();
    const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    const bar = progressBar(o.verify ? 'verifying positions' : 'rebuilding positions');
    try {
      const report = await rebuildPositions(db, { verify: Boolean(o.verify), onProgress: (d, t) => bar.update(d, t) });
      bar.stop();
      const shown = (field: string, v: number | string | null) =>
        v === null ? (field === 'row' ? 'absent' : 'none') : field === 'countAt' ? new Date(v).toISOString() : String(v);
      for (const d of report.differences) {
        process.stdout.write(`${d.sku}\t${d.locationId}\t${d.field}\tstored=${shown(d.field, d.stored)}\tledger=${shown(d.field, d.folded)}\n`);
      }
      process.stdout.write(
        `${report.positions} positions checked, ${report.differences.length} differences` + (o.verify ? '' : `, ${report.repaired} positions repaired`) + '\n',
      );
      process.exitCode = o.verify && report.differences.length > 0 ? 1 : 0;
    } finally {
      await db.close();
    }
  });

program
  .command('route-batch')
  .description('plan (and with --reserve hold) one order per JSONL line, the body of POST /v1/routing/plan')
  .requiredOption('--in <file>', 'orders, one JSON object per line')
  .requiredOption('--out <file>', 'plans, one JSON object per input line ({ line, error } for bad lines)')
  .option('--reserve', 'hold each feasible plan as a reservation')
  .option('--explain', 'add the explain object to every plan')
  .option('--channel <name>', 'channel of held reservations when an order names none', 'route-batch')
  .action(async (o: { in: string; out: string; reserve?: boolean; explain?: boolean; channel: string }) => {
    const config = loadConfig();
    const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    // One load of the index, no timers: this process's own holds keep it current.
    const index = new RoutingIndex({ db, fullRefreshMs: 0, tailMs: 0 });
    const bar = progressBar('routing orders');
    try {
      await index.start();
      const routing = new RoutingService({ db, index });
      const s = await routeBatch({ routing, inPath: o.in, outPath: o.out, reserve: Boolean(o.reserve), explain: Boolean(o.explain), channel: o.channel, progress: bar });
      bar.stop();
      process.stderr.write(`${s.orders} orders planned: ${s.feasible} feasible, ${s.infeasible} infeasible, ${s.reserved} reserved; ${s.errors} lines with errors\n`);
    } finally {
      await index.stop();
      await db.close();
    }
  });

registerUserCommands(program);
program
  .command('import-counts')
  .description('import a count file (CSV or NDJSON, contract §10) through a running service, or straight into the database and log')
  .argument('<file>', 'the count file: .csv (header sku,locationId,quantity,countedAt) or .jsonl/.ndjson')
  .option('--url <url>', 'a running service (POST /v1/imports/counts); without it, the database and log of this environment')
  .option('--token <token>', 'bearer token with scope stock:write (with --url)')
  .addOption(new Option('--format <format>', 'the file format, when its name does not tell').choices(['csv', 'ndjson']))
  .option('--report <file>', 'one JSON line per row: { line, status, error? } (through --url: the rejected rows)')
  .option('--offline', 'with the embedded database (no DATABASE_URL): write it directly; only while no service runs on it')
  .action(async (file: string, o: { url?: string; token?: string; format?: 'csv' | 'ndjson'; report?: string; offline?: boolean }) => {
    const summary = await runImportCounts({ file, ...o });
    // 2: the import finished but some rows were refused (scripts can tell it from a failure, 1)
    process.exitCode = summary.rejectedCount > 0 ? 2 : 0;
  });

program
  .command('import-postal-codes')
  .description('load postal-code coordinates (CSV: country,postalCode,lat,lon) through a running service, or straight into the database')
  .argument('<file>', 'the CSV file')
  .option('--url <url>', 'a running service (PUT /v1/postal-codes); without it, the database of this environment')
  .option('--token <token>', 'bearer token with scope admin (with --url)')
  .option('--offline', 'with the embedded database (no DATABASE_URL): write it directly; only while no service runs on it')
  .action(async (file: string, o: { url?: string; token?: string; offline?: boolean }) => {
    const summary = await runImportPostalCodes({ file, ...o });
    process.exitCode = summary.rejected.length > 0 ? 2 : 0;
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`omnistock: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
