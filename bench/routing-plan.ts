// Benchmark of the pure ship planner (src/core/routing) on a synthetic European network.
//
// API
//   benchRoutingPlan(opts?: RoutingBenchOptions): Promise<RoutingBenchResult>
//   Run directly: `npx tsx bench/routing-plan.ts [--locations N] [--skus N] [--orders N]` prints JSON.
//
// Network (seeded, deterministic): `locations` locations (6% warehouses, the rest stores around
// 120 city centres in Europe's bbox; 65% of stores ship, 5% of locations inactive, some stores'
// daily capacity used up), `skus` SKUs with Zipf-like spread: the SKU of popularity rank r sits
// at ~2000/√r locations (capped), so the head is at hundreds of locations and the tail at a
// handful (≈ 10). Orders: 5 lines, SKUs drawn by Zipf(1) popularity, quantity 1–3, method ship,
// destination near a city. Latency is measured per plan, single-threaded, after a warm-up.
// The baseline re-plans a small sample with pruning disabled (every k-subset of the candidates)
// to report the pruning speed-up on identical inputs.
// Progress bars (cli-progress) only when stdout is a TTY.

import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import cliProgress from 'cli-progress';
import { mulberry32 } from '../test/support/random.js';
import { AtpIndex } from '../src/core/routing/atp-index.js';
import { planShip } from '../src/core/routing/plan-ship.js';
import type { OrderLine, RoutingLocation, ShipOrder } from '../src/core/routing/types.js';

export interface RoutingBenchOptions {
  locations?: number;
  skus?: number;
  orders?: number;
  seed?: number;
  /** Orders re-planned without pruning for the speed-up figure (0 = skip). */
  baselineSample?: number;
  /** Stop the baseline after this many ms. */
  baselineBudgetMs?: number;
}

export interface RoutingBenchResult {
  locations: number;
  skus: number;
  positions: number;
  orders: number;
  linesPerOrder: number;
  indexBuildMs: number;
  /** JS heap growth of the index (objects, row arrays under 64 bytes). */
  heapUsedMb: number;
  /** Typed-array backing stores of the index outside the JS heap. */
  arrayBuffersMb: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** Process CPU time per plan (user + system); robust to other processes sharing the cores. */
  cpuMsPerPlan: number;
  plansPerSec: number;
  feasibleShare: number;
  avgShipments: number;
  shipmentHistogram: Record<string, number>;
  heuristicShare: number;
  avgCandidates: number;
  baseline: { sample: number; prunedMs: number; unprunedMs: number; speedup: number; identical: boolean } | null;
  /** The same orders without destination (§7: a marketplace order; rank then id decide). */
  noDestination: { p50Ms: number; p99Ms: number; maxMs: number; plansPerSec: number; heuristicShare: number; infeasibleShare: number };
  targets: { p50Ms: number; p99Ms: number; plansPerSec: number; met: boolean };
  /** 1-minute load average when the run ended: latency tails grow when the cores are shared. */
  loadAvg1m: number;
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i]!;
}

const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;

function progress(label: string, total: number): { tick: (n?: number) => void; stop: () => void } {
  if (!process.stdout.isTTY) return { tick: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label.padEnd(12)} [{bar}] {percentage}% {value}/{total}`, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let v = 0;
  return {
    tick: (n = 1) => {
      v += n;
      if (v % 500 === 0 || v === total) bar.update(v);
    },
    stop: () => bar.stop(),
  };
}

interface Network {
  locations: RoutingLocation[];
  cities: { lat: number; lon: number }[];
}

function makeNetwork(n: number, rand: () => number): Network {
  const cities = Array.from({ length: 120 }, () => ({ lat: 37 + rand() * 22, lon: -8 + rand() * 32 }));
  const locations: RoutingLocation[] = [];
  const warehouses = Math.max(1, Math.round(n * 0.06));
  for (let i = 0; i < n; i++) {
    const isWh = i < warehouses;
    const c = cities[Math.floor(rand() * cities.length)]!;
    const spread = isWh ? 0.6 : 0.25; // degrees
    locations.push({
      id: isWh ? `wh-${String(i).padStart(4, '0')}` : `st-${String(i).padStart(4, '0')}`,
      type: isWh ? 'warehouse' : 'store',
      lat: clamp(c.lat + gaussian(rand) * spread, 35, 71),
      lon: clamp(c.lon + gaussian(rand) * spread * 1.5, -10, 30),
      shipFromStore: !isWh && rand() < 0.65,
      pickup: !isWh && rand() < 0.5,
      rank: isWh ? 10 + Math.floor(rand() * 40) : 100,
      dailyCapacity: isWh ? null : 20 + Math.floor(rand() * 80),
      safetyStock: isWh ? 0 : rand() < 0.3 ? 1 : 0,
      active: rand() >= 0.05,
    });
  }
  return { locations, cities };
}

/** Fills the index; returns the number of positions. */
function fillStock(index: AtpIndex, net: Network, skus: number, rand: () => number, tick: (n?: number) => void): number {
  const n = net.locations.length;
  const ids = net.locations.map((l) => l.id);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  let positions = 0;
  for (let r = 1; r <= skus; r++) {
    const sku = `SKU-${String(r).padStart(6, '0')}`;
    const k = Math.min(n, Math.max(3, Math.round(2000 / Math.sqrt(r)) + Math.floor(rand() * 6)));
    const cap = Math.min(k, Math.round(n * 0.9));
    // partial Fisher–Yates: `cap` distinct locations
    for (let i = 0; i < cap; i++) {
      const j = i + Math.floor(rand() * (n - i));
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
      const popular = r <= 1000;
      const onHand = Math.floor(-Math.log(Math.max(rand(), 1e-9)) * (popular ? 8 : 3));
      const reserved = rand() < 0.1 ? Math.floor(rand() * 3) : 0;
      const unavailable = rand() < 0.03 ? 1 : 0;
      index.upsertPosition({ sku, locationId: ids[perm[i]!]!, onHand, reserved, unavailable });
      positions++;
    }
    tick();
  }
  return positions;
}

function makeOrders(count: number, skus: number, net: Network, rand: () => number): ShipOrder[] {
  // Zipf(1) over popularity ranks via the cumulative harmonic table
  const cum = new Float64Array(skus);
  let h = 0;
  for (let r = 1; r <= skus; r++) {
    h += 1 / r;
    cum[r - 1] = h;
  }
  const draw = (): number => {
    const x = rand() * h;
    let lo = 0;
    let hi = skus - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  const orders: ShipOrder[] = [];
  for (let o = 0; o < count; o++) {
    const lines: OrderLine[] = [];
    for (let i = 0; i < 5; i++) {
      const u = rand();
      lines.push({ sku: `SKU-${String(draw()).padStart(6, '0')}`, quantity: u < 0.8 ? 1 : u < 0.95 ? 2 : 3 });
    }
    const c = net.cities[Math.floor(rand() * net.cities.length)]!;
    const destination = { lat: clamp(c.lat + gaussian(rand) * 0.3, 35, 71), lon: clamp(c.lon + gaussian(rand) * 0.45, -10, 30) };
    orders.push({ lines, destination });
  }
  return orders;
}

/** The benchmark's deterministic world (index + orders), for ad-hoc profiling. */
export function buildRoutingBenchWorld(opts: { locations?: number; skus?: number; orders?: number; seed?: number } = {}): {
  index: AtpIndex;
  orders: ShipOrder[];
} {
  const nSku = opts.skus ?? 50_000;
  const rand = mulberry32(opts.seed ?? 42);
  const net = makeNetwork(opts.locations ?? 1000, rand);
  const index = new AtpIndex();
  for (const l of net.locations) index.upsertLocation(l);
  fillStock(index, net, nSku, rand, () => {});
  for (const l of net.locations) {
    if (l.dailyCapacity !== null) index.setCapacityUsed(l.id, rand() < 0.05 ? l.dailyCapacity : Math.floor(rand() * l.dailyCapacity));
  }
  return { index, orders: makeOrders(opts.orders ?? 5000, nSku, net, rand) };
}

export async function benchRoutingPlan(opts: RoutingBenchOptions = {}): Promise<RoutingBenchResult> {
  const nLoc = opts.locations ?? 1000;
  const nSku = opts.skus ?? 50_000;
  const nOrders = opts.orders ?? 5000;
  const seed = opts.seed ?? 42;
  const baselineSample = opts.baselineSample ?? 40;
  const baselineBudgetMs = opts.baselineBudgetMs ?? 20_000;
  const rand = mulberry32(seed);

  const net = makeNetwork(nLoc, rand);
  (globalThis as { gc?: () => void }).gc?.();
  const mem0 = process.memoryUsage();
  const t0 = performance.now();
  const index = new AtpIndex();
  for (const l of net.locations) index.upsertLocation(l);
  const pb = progress('index', nSku);
  const positions = fillStock(index, net, nSku, rand, pb.tick);
  // some stores have used up today's capacity
  for (const l of net.locations) {
    if (l.dailyCapacity !== null) index.setCapacityUsed(l.id, rand() < 0.05 ? l.dailyCapacity : Math.floor(rand() * l.dailyCapacity));
  }
  const indexBuildMs = performance.now() - t0;
  pb.stop();
  (globalThis as { gc?: () => void }).gc?.();
  const mem1 = process.memoryUsage();
  const heapUsedMb = (mem1.heapUsed - mem0.heapUsed) / 2 ** 20;
  const arrayBuffersMb = (mem1.arrayBuffers - mem0.arrayBuffers) / 2 ** 20;

  const orders = makeOrders(nOrders, nSku, net, rand);
  const warm = makeOrders(Math.min(500, nOrders), nSku, net, mulberry32(seed + 1));
  for (const o of warm) planShip(o, index);

  const lat = new Float64Array(nOrders);
  let feasible = 0;
  let shipmentsSum = 0;
  let heuristic = 0;
  const histogram: Record<string, number> = {};
  const pp = progress('plans', nOrders);
  const cpu0 = process.cpuUsage();
  const tStart = performance.now();
  for (let i = 0; i < nOrders; i++) {
    const a = performance.now();
    const r = planShip(orders[i]!, index);
    lat[i] = performance.now() - a;
    if (r.feasible) {
      feasible++;
      shipmentsSum += r.shipments.length;
      if (r.shipments.length > 3) heuristic++;
    }
    const key = r.feasible ? String(r.shipments.length) : 'infeasible';
    histogram[key] = (histogram[key] ?? 0) + 1;
    pp.tick();
  }
  const totalMs = performance.now() - tStart;
  const cpu = process.cpuUsage(cpu0);
  pp.stop();
  const sorted = Float64Array.from(lat).sort();

  // candidate counts (explain-free): ATP-holding ship candidates per order, on a sample
  let candSum = 0;
  const candSample = Math.min(200, nOrders);
  for (let i = 0; i < candSample; i++) {
    const seen = new Set<string>();
    for (const l of orders[i]!.lines) for (const s of index.locationsWithStock(l.sku)) if (index.canShip(s.locationId)) seen.add(s.locationId);
    candSum += seen.size;
  }

  // the same orders without destination (same index, same lines)
  const nd = new Float64Array(nOrders);
  let ndHeuristic = 0;
  let ndInfeasible = 0;
  const ndp = progress('plans without destination', nOrders);
  const ndStart = performance.now();
  for (let i = 0; i < nOrders; i++) {
    const order = { lines: orders[i]!.lines };
    const a = performance.now();
    const r = planShip(order, index);
    nd[i] = performance.now() - a;
    if (!r.feasible) ndInfeasible++;
    else if (r.shipments.length > 3) ndHeuristic++;
    ndp.tick();
  }
  const ndTotal = performance.now() - ndStart;
  ndp.stop();
  const ndSorted = nd.sort();
  const noDestination = {
    p50Ms: round(percentile(ndSorted, 0.5)),
    p99Ms: round(percentile(ndSorted, 0.99)),
    maxMs: round(ndSorted[ndSorted.length - 1] ?? 0),
    plansPerSec: Math.round(nOrders / (ndTotal / 1000)),
    heuristicShare: round(ndHeuristic / nOrders),
    infeasibleShare: round(ndInfeasible / nOrders),
  };

  let baseline: RoutingBenchResult['baseline'] = null;
  if (baselineSample > 0) {
    let prunedMs = 0;
    let unprunedMs = 0;
    let identical = true;
    let done = 0;
    const bp = progress('baseline', baselineSample);
    const budgetStart = performance.now();
    for (let i = 0; i < baselineSample && i < nOrders; i++) {
      if (performance.now() - budgetStart > baselineBudgetMs) break;
      const o = orders[i]!;
      let a = performance.now();
      const fast = planShip(o, index);
      prunedMs += performance.now() - a;
      a = performance.now();
      const slow = planShip(o, index, { pruning: false });
      unprunedMs += performance.now() - a;
      if (JSON.stringify(fast) !== JSON.stringify(slow)) identical = false;
      done++;
      bp.tick();
    }
    bp.stop();
    baseline = {
      sample: done,
      prunedMs: round(prunedMs),
      unprunedMs: round(unprunedMs),
      speedup: round(unprunedMs / Math.max(prunedMs, 1e-6), 1),
      identical,
    };
  }

  const p50Ms = percentile(sorted, 0.5);
  const p99Ms = percentile(sorted, 0.99);
  const plansPerSec = nOrders / (totalMs / 1000);
  return {
    locations: index.stats().locations,
    skus: index.stats().skus,
    positions,
    orders: nOrders,
    linesPerOrder: 5,
    indexBuildMs: round(indexBuildMs, 1),
    heapUsedMb: round(heapUsedMb, 1),
    arrayBuffersMb: round(arrayBuffersMb, 1),
    p50Ms: round(p50Ms),
    p90Ms: round(percentile(sorted, 0.9)),
    p99Ms: round(p99Ms),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
    meanMs: round(totalMs / nOrders),
    cpuMsPerPlan: round((cpu.user + cpu.system) / 1000 / nOrders),
    plansPerSec: Math.round(plansPerSec),
    feasibleShare: round(feasible / nOrders),
    avgShipments: round(feasible === 0 ? 0 : shipmentsSum / feasible),
    shipmentHistogram: histogram,
    heuristicShare: round(heuristic / nOrders),
    avgCandidates: round(candSum / candSample, 1),
    baseline,
    noDestination,
    targets: { p50Ms: 2, p99Ms: 10, plansPerSec: 1000, met: p50Ms <= 2 && p99Ms <= 10 && plansPerSec >= 1000 },
    loadAvg1m: round(loadavg()[0] ?? 0, 2),
  };
}

function argValue(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = Number(process.argv[i + 1]);
  return Number.isFinite(v) ? v : undefined;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const opts: RoutingBenchOptions = {};
  const l = argValue('locations');
  const s = argValue('skus');
  const o = argValue('orders');
  if (l !== undefined) opts.locations = l;
  if (s !== undefined) opts.skus = s;
  if (o !== undefined) opts.orders = o;
  benchRoutingPlan(opts).then(
    (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
