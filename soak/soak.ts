// `npm run soak`: the production deployment on this machine under steady mixed load and every
// fault of issue 17, then the proof that nothing was lost. See soak/README.md.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import pg from 'pg';
import { KafkaEventLog } from '../src/eventlog/kafka-event-log.js';
import { createLogger } from '../src/logger.js';
import { positionKey } from '../src/core/ids.js';
import { startMockKafka, type MockKafka } from '../test/support/kafka-broker.js';
import { expectedPositions } from '../test/support/stock-history.js';
import { checkHostileResponse, hostileRequestArb, routesFromOpenApi } from '../test/support/hostile-requests.js';
import { startPostgresInstance, type PostgresInstance } from './postgres-instance.js';
import { SOAK_TOKEN, startCluster, waitReady, type Cluster } from './cluster.js';
import { ALL_FAULTS, faultSchedule, type FaultKind, type ScheduledFault } from './faults.js';
import { EVENT_SKUS, LOCATIONS, RESERVED_SKUS, STORES, eventSource, newLoadState, reader, reservationClient, sleep, SoakClient, type LoadState } from './load.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EVENTS_TOPIC = 'inventory.events';
const GROUP = 'omnistock-reconciler';
/** The API sheds past this backlog during the soak (low, so the overload fault reaches it). */
export const SOAK_BACKLOG_LIMIT = 3_000;

export interface SoakOptions {
  minutes: number;
  seed: number;
  /** The 2-minute CI variant: shorter faults, one cycle. */
  short?: boolean;
  log?: (line: string) => void;
}

export interface InjectedFault extends ScheduledFault {
  startedAt: number;
  endedAt: number;
  /** ms from the fault's end until the API's /readyz answered 200 again. */
  readyAfterMs: number | null;
}

export interface Invariant {
  name: string;
  ok: boolean;
  detail: string;
}

export interface SoakResult {
  options: SoakOptions;
  startedAt: number;
  loadEndedAt: number;
  faults: InjectedFault[];
  load: LoadState;
  readiness: Array<{ t: number; ok: boolean }>;
  lag: Array<{ t: number; total: number; partitions: number[] }>;
  rss: Array<{ t: number; name: string; incarnation: number; bytes: number }>;
  fuzz: { sent: number; unsendable: number; statuses: Record<string, number>; problems: string[] };
  oversoldSamples: string[];
  longestPartitionStallMs: number[];
  invariants: Invariant[];
  drainMs: number;
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const say = opts.log ?? (() => {});
  const totalMs = opts.minutes * 60_000;
  const schedule = faultSchedule(opts.seed, totalMs, { short: opts.short, warmupMs: opts.short ? 10_000 : 20_000, gapMs: opts.short ? 5_000 : 10_000 });
  const scheduleEnd = Math.max(...schedule.map((f) => f.at + f.durationMs));
  const loadMs = Math.max(totalMs, scheduleEnd + 10_000);

  let postgres: PostgresInstance | null = null;
  let kafka: MockKafka | null = null;
  let cluster: Cluster | null = null;
  let harnessPool: pg.Pool | null = null;
  let lagLog: KafkaEventLog | null = null;
  const timers: NodeJS.Timeout[] = [];
  let brokerGone: string | null = null;
  let stopping = false;
  let loadState: LoadState | null = null;
  try {
    say(`seed ${opts.seed}: ${schedule.length} faults over ${Math.round(loadMs / 1000)} s of load`);
    postgres = await startPostgresInstance();
    kafka = await startMockKafka({ topics: [{ name: EVENTS_TOPIC, partitions: 8 }, { name: 'inventory.atp', partitions: 4 }] });
    say(`postgres on ${postgres.port}, kafka ${kafka.brokers.join(',')}`);
    // The broker is the soak's own process: if it dies mid-run (killed from outside), every
    // producer would wait on it until the hard deadline. End the run early and say why instead.
    void kafka.ended.then((how) => {
      if (stopping) return;
      brokerGone = how;
      if (loadState) loadState.abandoned = true;
      say(`the mock Kafka broker ended mid-run (${how}); stopping the load`);
    });
    cluster = await startCluster({
      databaseUrl: postgres.url, brokers: kafka.brokers,
      extraEnv: { EVENT_BACKLOG_LIMIT: String(SOAK_BACKLOG_LIMIT), EVENT_LAG_LIMIT_SECONDS: '30' },
    });
    say('api and two reconcilers ready');
    harnessPool = new pg.Pool({ connectionString: postgres.harnessUrl, max: 3, connectionTimeoutMillis: 5_000, query_timeout: 60_000 });
    harnessPool.on('error', () => {});
    lagLog = new KafkaEventLog({ brokers: kafka.brokers, logger: createLogger('fatal') });
    const c = cluster;
    const pool = harnessPool;
    const state = newLoadState();
    loadState = state;
    const client = new SoakClient(() => c.apiUrl(), state);
    for (const [i, id] of LOCATIONS.entries()) {
      const body = { name: id, type: id.startsWith('wh') ? 'warehouse' : 'store', lat: 52 + i / 10, lon: 4.9 + i / 10, shipFromStore: true, pickup: true };
      const r = await client.until('read', 'PUT', `/v1/locations/${id}`, body, (a) => a.status === 200 || a.status === 201, Date.now() + 60_000);
      if (!r || r.status >= 300) throw new Error(`could not create location ${id}`);
    }

    const startedAt = Date.now();
    const loadEnd = startedAt + loadMs;
    // Sources resend each event until it is accepted, past the load's end, but not for ever.
    const hardDeadline = loadEnd + (opts.short ? 240_000 : 600_000);
    // The load runs its set time, and on until 10 s after the last fault ended (faults wait for
    // the API to recover from the one before, so the schedule can run past its planned end).
    let faultsEndedAt: number | null = null;
    const stopLoad = () => brokerGone !== null || (Date.now() >= loadEnd && faultsEndedAt !== null && Date.now() >= faultsEndedAt + 10_000);

    // --- monitors --------------------------------------------------------------------------
    const readiness: SoakResult['readiness'] = [];
    const lag: SoakResult['lag'] = [];
    const rss: SoakResult['rss'] = [];
    const oversoldSamples: string[] = [];
    const lastAdvance = new Map<number, { offset: number; at: number }>();
    const longestStall = new Map<number, number>();
    let monitoring = true;
    const every = (ms: number, fn: () => Promise<void>) => {
      let busy = false;
      const t = setInterval(() => {
        if (busy || !monitoring) return;
        busy = true;
        void fn().catch(() => {}).finally(() => { busy = false; });
      }, ms);
      timers.push(t);
    };
    every(500, async () => {
      const t = Date.now();
      const r = await fetch(`${c.apiUrl()}/readyz`, { signal: AbortSignal.timeout(3_000) }).catch(() => null);
      readiness.push({ t, ok: r?.status === 200 });
    });
    const readBacklog = async () => {
      const stored = (await pool.query<{ partition: number; next_offset: string }>('SELECT partition, next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2', [GROUP, EVENTS_TOPIC])).rows;
      const positions = new Map(stored.map((r) => [Number(r.partition), Number(r.next_offset)]));
      return { positions, backlog: await lagLog!.backlog(EVENTS_TOPIC, positions) };
    };
    every(1_000, async () => {
      const t = Date.now();
      const { positions, backlog } = await readBacklog();
      lag.push({ t, total: backlog.reduce((n, b) => n + b.messages, 0), partitions: backlog.map((b) => b.messages) });
      for (const b of backlog) {
        const offset = positions.get(b.partition) ?? 0;
        const prev = lastAdvance.get(b.partition);
        if (!prev || offset > prev.offset || b.messages === 0) lastAdvance.set(b.partition, { offset, at: t });
        else longestStall.set(b.partition, Math.max(longestStall.get(b.partition) ?? 0, t - prev.at));
      }
    });
    every(5_000, async () => {
      const t = Date.now();
      for (const m of c.rss()) rss.push({ t, ...m });
    });
    every(3_000, async () => {
      const rows = (await pool.query<{ sku: string; location_id: string; on_hand: string; reserved: string; unavailable: string }>(
        'SELECT sku, location_id, on_hand, reserved, unavailable FROM positions WHERE sku = ANY($1::text[]) AND reserved > on_hand - unavailable', [RESERVED_SKUS])).rows;
      for (const r of rows) oversoldSamples.push(`${new Date().toISOString()} ${r.sku}@${r.location_id}: reserved ${r.reserved} > on hand ${r.on_hand} - unavailable ${r.unavailable}`);
    });

    // --- hostile input over HTTP, all along ------------------------------------------------
    const fuzzPauseMs = opts.short ? 500 : 250;
    const fuzz: SoakResult['fuzz'] = { sent: 0, unsendable: 0, statuses: {}, problems: [] };
    const openapi = (await (await fetch(`${c.apiUrl()}/docs`)).json()) as never;
    const hostile = fc.sample(hostileRequestArb(routesFromOpenApi(openapi), SOAK_TOKEN), { numRuns: Math.ceil(loadMs / fuzzPauseMs), seed: opts.seed });
    const fuzzer = (async () => {
      for (const req of hostile) {
        if (stopLoad()) break;
        let res: Response;
        try {
          res = await fetch(`${c.apiUrl()}${req.url}`, { method: req.method, headers: req.headers, body: typeof req.body === "string" || req.body === undefined ? req.body : new Uint8Array(req.body), signal: AbortSignal.timeout(15_000) });
        } catch (err) {
          // The client refused to send it (a header value it forbids), or the API was down.
          if (err instanceof TypeError && !/fetch failed/.test(err.message)) fuzz.unsendable += 1;
          await sleep(fuzzPauseMs);
          continue;
        }
        fuzz.sent += 1;
        const body = await res.text();
        fuzz.statuses[res.status] = (fuzz.statuses[res.status] ?? 0) + 1;
        fuzz.problems.push(...checkHostileResponse(req, { status: res.status, headers: Object.fromEntries(res.headers), body }, { allow503: true, allow429: true }));
        await sleep(fuzzPauseMs);
      }
    })();

    // --- load --------------------------------------------------------------------------------
    const workers: Array<Promise<void>> = [];
    // The short (CI) run paces its clients slower: it shares two cores with other test files.
    const pace = opts.short ? 2.5 : 1;
    for (let i = 0; i < 3; i++) workers.push(eventSource(client, state, { id: i, seed: opts.seed, until: stopLoad, hardDeadline, maxEvents: 2_000_000, pauseMs: 100 * pace }));
    for (let i = 0; i < 2; i++) workers.push(reservationClient(client, state, { id: i, seed: opts.seed, until: stopLoad, hardDeadline, pauseMs: 200 * pace }));
    for (let i = 0; i < 2; i++) workers.push(reader(client, { id: i, seed: opts.seed, until: stopLoad, pauseMs: 100 * pace }));

    // --- faults ------------------------------------------------------------------------------
    const faults: InjectedFault[] = [];
    let overloads = 0;
    const inject = async (f: ScheduledFault): Promise<void> => {
      // At its scheduled time, or later when the faults before it took longer to recover from.
      await sleep(Math.max(0, startedAt + f.at - Date.now()));
      const startedAtF = Date.now();
      say(`+${Math.round((startedAtF - startedAt) / 1000)}s ${f.kind} (${f.durationMs / 1000}s)`);
      const hold = () => sleep(Math.max(0, startedAtF + f.durationMs - Date.now()));
      switch (f.kind) {
        case 'broker-down':
          await kafka!.command('down -1');
          await hold();
          await kafka!.command('up -1');
          break;
        case 'broker-errors-latency':
          await kafka!.command('rtt -1 400');
          await kafka!.command('errors 0 40 NOT_LEADER_FOR_PARTITION');
          await kafka!.command('errors 1 40 NOT_LEADER_FOR_PARTITION');
          await hold();
          await kafka!.command('rtt -1 0');
          await kafka!.command('errors 0 0 NOT_LEADER_FOR_PARTITION');
          await kafka!.command('errors 1 0 NOT_LEADER_FOR_PARTITION');
          break;
        case 'postgres-restart':
          await postgres!.fastRestart();
          break;
        case 'postgres-refuse':
          await postgres!.refuseNewConnections(true);
          await hold();
          await postgres!.refuseNewConnections(false);
          break;
        case 'kill-api':
          await c.restart('api');
          break;
        case 'kill-reconciler':
          await c.restart('reconciler-a');
          break;
        case 'stop-reconciler':
          c.signal('reconciler-b', 'SIGSTOP');
          try { await hold(); } finally { c.signal('reconciler-b', 'SIGCONT'); }
          break;
        case 'clock-ahead':
        case 'clock-behind':
          state.skewMs = (f.kind === 'clock-ahead' ? 1 : -1) * 6 * 60_000;
          await hold();
          state.skewMs = 0;
          break;
        case 'overload': {
          state.overload = true;
          // Source ids unique to this overload, so its event ids never repeat an earlier one's.
          overloads += 1;
          const burst = Array.from({ length: opts.short ? 3 : 6 }, (_, i) => eventSource(client, state, { id: 100 * overloads + i, seed: opts.seed, until: () => Date.now() >= startedAtF + f.durationMs, hardDeadline, maxEvents: 50_000, pauseMs: 0 }));
          await hold();
          state.overload = false;
          await Promise.all(burst);
          break;
        }
      }
      faults.push({ ...f, startedAt: startedAtF, endedAt: Date.now(), readyAfterMs: null });
    };
    // Infrastructure faults one after another; skews in their own lane.
    // Each fault's recovery is measured on its own: the next one starts only once the API is
    // ready again (a restarted API can take 20 s to boot on a loaded machine) and a gap passed.
    const lane = async (fs: ScheduledFault[], waitForRecovery: boolean) => {
      for (const f of fs) {
        if (brokerGone !== null) break;
        await inject(f);
        if (waitForRecovery && brokerGone === null) {
          await waitReady(c.apiUrl(), 120_000).catch(() => say(`API not ready 120 s after ${f.kind}`));
          await sleep(opts.short ? 3_000 : 8_000);
        }
      }
    };
    const skew = (k: FaultKind) => k === 'clock-ahead' || k === 'clock-behind';
    await Promise.all([lane(schedule.filter((f) => !skew(f.kind)), true), lane(schedule.filter((f) => skew(f.kind)), false)]);
    faultsEndedAt = Date.now();
    await Promise.all(workers);
    await fuzzer;
    const loadEndedAt = Date.now();
    say(`load done: ${state.accepted.length} events accepted, ${state.samples.length} requests; draining`);

    // --- drain: every accepted event applied, every partition caught up ---------------------
    const ids = [...new Set(state.accepted.map((e) => e.eventId))];
    const drainStarted = Date.now();
    let drained = false;
    let drainTicks = 0;
    let finalBacklog: number[] = [];
    while (Date.now() - drainStarted < 180_000 && brokerGone === null) {
      // Every wait here is bounded: a hung query or broker call must fail the run, not hang it.
      const applied = await within('count applied events', 20_000, pool.query<{ n: string }>('SELECT count(*) AS n FROM processed_events WHERE event_id = ANY($1::text[])', [ids]))
        .then((r) => Number(r.rows[0]!.n), (err: Error) => { say(String(err.message)); return -1; });
      const { backlog } = await within('read backlog', 20_000, readBacklog()).catch(() => ({ backlog: [{ messages: -1 }] as Array<{ messages: number }> }));
      finalBacklog = backlog.map((b) => b.messages);
      if (applied === ids.length && backlog.every((b) => b.messages === 0)) {
        drained = true;
        break;
      }
      if (++drainTicks % 15 === 0) say(`draining: ${applied} of ${ids.length} applied, backlog ${JSON.stringify(finalBacklog)}`);
      await sleep(1_000);
    }
    const drainMs = Date.now() - drainStarted;
    say(drained ? `drained in ${Math.round(drainMs / 1000)} s` : `not drained after ${Math.round(drainMs / 1000)} s: backlog ${JSON.stringify(finalBacklog)}`);
    // Let the readiness poller see the end state, then stop monitoring.
    await sleep(2_000);
    monitoring = false;

    for (const f of faults) {
      const back = readiness.find((r) => r.t >= f.endedAt && r.ok);
      f.readyAfterMs = back ? Math.max(0, back.t - f.endedAt) : null;
    }

    // --- invariants ----------------------------------------------------------------------------
    const invariants: Invariant[] = [];
    const check = (name: string, ok: boolean, detail: string) => invariants.push({ name, ok, detail });
    const injectedKinds = new Set(faults.map((f) => f.kind));
    check('the broker lived through the run', brokerGone === null, brokerGone ?? 'yes');
    check('every fault injected at least once', ALL_FAULTS.every((k) => injectedKinds.has(k)), `${faults.length} injected: ${[...injectedKinds].join(', ')}`);
    check('every event resent until 202 (nothing left unsent)', state.unsent.length === 0, `${state.unsent.length} unsent of ${state.accepted.length + state.unsent.length}`);
    check('no valid event rejected', state.rejectedValid.length === 0, state.rejectedValid.slice(0, 3).join('; ') || 'none');
    check('every accepted event applied, every partition drained', drained, `${ids.length} accepted; final backlog per partition ${JSON.stringify(finalBacklog)} after ${Math.round(drainMs / 1000)} s`);

    const skus = [...EVENT_SKUS, ...RESERVED_SKUS];
    const dupes = (await pool.query<{ event_id: string; n: string }>('SELECT event_id, count(*) AS n FROM ledger_entries WHERE sku = ANY($1::text[]) AND reservation_id IS NULL GROUP BY event_id HAVING count(*) > 1 LIMIT 5', [skus])).rows;
    const entryCount = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM ledger_entries WHERE sku = ANY($1::text[]) AND reservation_id IS NULL', [skus])).rows[0]!.n);
    check('every 202 event applied exactly once (one ledger entry per event id)', dupes.length === 0 && entryCount === ids.length, `${entryCount} entries for ${ids.length} accepted events; duplicated ids: ${dupes.map((d) => d.event_id).join(', ') || 'none'}`);

    const want = expectedPositions(state.accepted);
    const rows = (await pool.query<{ sku: string; location_id: string; on_hand: string; unavailable: string; reserved: string }>('SELECT sku, location_id, on_hand, unavailable, reserved FROM positions WHERE sku = ANY($1::text[])', [skus])).rows;
    const have = new Map(rows.map((r) => [positionKey(r.sku, r.location_id), { onHand: Number(r.on_hand), unavailable: Number(r.unavailable) }]));
    const mismatches: string[] = [];
    for (const [k, s] of want) {
      const h = have.get(k);
      if (!h || h.onHand !== s.onHand || h.unavailable !== s.unavailable) mismatches.push(`${k}: ledger ${JSON.stringify(h ?? null)} vs reference ${JSON.stringify({ onHand: s.onHand, unavailable: s.unavailable })}`);
    }
    for (const k of have.keys()) if (!want.has(k) && !k.startsWith('RS-')) mismatches.push(`${k}: a position no accepted event made`);
    check('ledger equals the reference fold of the accepted events', mismatches.length === 0, mismatches.slice(0, 3).join('; ') || `${want.size} positions equal`);

    const oversoldNow = rows.filter((r) => r.sku.startsWith('RS-') && Number(r.reserved) > Number(r.on_hand) - Number(r.unavailable));
    check('no reservation oversold (sampled every 3 s and at the end)', oversoldSamples.length === 0 && oversoldNow.length === 0, oversoldSamples.slice(0, 2).join('; ') || `${state.holds.made} holds made, ${state.holds.shortages} refused for shortage`);

    say('invariants: running rebuild --verify');
    const verify = await runCli(['rebuild', '--verify'], { DATABASE_URL: postgres.url, KAFKA_BROKERS: kafka.brokers.join(','), LOG_LEVEL: 'warn' });
    check('omnistock rebuild --verify clean', verify.code === 0, verify.code === 0 ? 'exit 0' : `exit ${verify.code}: ${verify.output.slice(-500)}`);

    const serverErrors = state.anomalies.filter((a) => / → 5\d\d /.test(a));
    check('no 500 from the API under faults', serverErrors.length === 0, serverErrors.slice(0, 3).join('; ') || `${state.samples.length} requests`);
    const unexpected = state.anomalies.filter((a) => !/ → 5\d\d /.test(a));
    check('no unexpected refusal of a valid request', unexpected.length === 0, unexpected.slice(0, 3).join('; ') || 'none');
    check('hostile input: no 500, refusals problem+json naming the field', fuzz.problems.length === 0 && fuzz.sent > 0, fuzz.problems.slice(0, 3).join('; ') || `${fuzz.sent} hostile requests`);

    const depFaults = faults.filter((f) => ['broker-down', 'broker-errors-latency', 'postgres-restart', 'postgres-refuse'].includes(f.kind));
    const slow = depFaults.filter((f) => f.readyAfterMs === null || f.readyAfterMs > 10_000);
    check('ready again within 10 s of every log or database fault ending', slow.length === 0, depFaults.map((f) => `${f.kind} ${f.readyAfterMs === null ? 'never' : `${(f.readyAfterMs / 1000).toFixed(1)}s`}`).join(', '));
    const restarts = faults.filter((f) => f.kind === 'kill-api');
    check('the API is ready again within 60 s of a SIGKILL and restart', restarts.every((f) => f.readyAfterMs !== null && f.readyAfterMs <= 60_000), restarts.map((f) => `${f.readyAfterMs === null ? 'never' : `${(f.readyAfterMs / 1000).toFixed(1)}s`}`).join(', '));

    const memory = memoryGrowth(rss);
    check('memory flat (RSS of each process that lived through the run)', memory.every((m) => m.ok), memory.map((m) => m.detail).join('; ') || 'no process lived long enough to judge');

    return { options: opts, startedAt, loadEndedAt, faults, load: state, readiness, lag, rss, fuzz, oversoldSamples, longestPartitionStallMs: [...longestStall.values()], invariants, drainMs };
  } finally {
    stopping = true;
    for (const t of timers) clearInterval(t);
    const quietly = (label: string, p: Promise<unknown> | undefined) => within(label, 60_000, p ?? Promise.resolve()).catch((err: Error) => say(err.message));
    await quietly('stop the cluster', cluster?.stop());
    await quietly('close the lag reader', lagLog?.close());
    await quietly('close the harness pool', harnessPool?.end());
    await quietly('stop the broker', kafka?.stop());
    await quietly('stop postgres', postgres?.stop());
  }
}

/**
 * Flat memory: for each process incarnation that lived at least 90 s, the median RSS of its last
 * third against the median of its middle third (the first third is warm-up: JIT, pools, caches).
 * Allowed: 50% growth plus 64 MiB, a bound a leak proportional to traffic breaks over a soak
 * while a heap's normal breathing does not.
 */
export function memoryGrowth(rss: SoakResult['rss']): Array<{ name: string; ok: boolean; detail: string }> {
  const by = new Map<string, Array<{ t: number; bytes: number }>>();
  for (const s of rss) {
    const k = `${s.name}#${s.incarnation}`;
    by.set(k, [...(by.get(k) ?? []), { t: s.t, bytes: s.bytes }]);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const out: Array<{ name: string; ok: boolean; detail: string }> = [];
  for (const [name, samples] of by) {
    if (samples.length < 9 || samples[samples.length - 1]!.t - samples[0]!.t < 90_000) continue;
    const third = Math.floor(samples.length / 3);
    const middle = med(samples.slice(third, 2 * third).map((s) => s.bytes));
    const last = med(samples.slice(2 * third).map((s) => s.bytes));
    const ok = last <= middle * 1.5 + 64 * 1024 * 1024;
    out.push({ name, ok, detail: `${name} ${Math.round(middle / 2 ** 20)}→${Math.round(last / 2 ** 20)} MiB` });
  }
  return out;
}

/** Rejects with a message naming the step when `p` takes longer than `ms`. */
function within<T>(label: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${label}: no answer in ${ms / 1000} s`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Runs the CLI; killed (code null) when it takes longer than `timeoutMs`. */
function runCli(args: string[], env: Record<string, string>, timeoutMs = 240_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => { output += `\n(killed after ${timeoutMs / 1000} s)`; child.kill('SIGKILL'); }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}

export { STORES };
