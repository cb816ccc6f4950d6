// Ship routing (contract §7, method "ship"): which locations ship which units of an order.
//
// API
//   planShip(order: ShipOrder, index: AtpIndex, opts?: PlanShipOptions): PlanResult
//   planReroute(req: RerouteRequest, index: AtpIndex, opts?: PlanShipOptions): PlanResult
//       re-plan lines a location rejected, excluding that location (and any others given)
//   mergeLines(lines: readonly OrderLine[]): OrderLine[]
//       validates (quantity a positive safe integer, sku a non-empty string) and merges lines
//       of the same SKU, first appearance order; throws RangeError naming the field
//   PlanShipOptions { explain?: boolean; excludeLocationIds?: Iterable<string>;
//                     onlyLocationIds?: Iterable<string>; pruning?: boolean }
//
// Candidates: known, active locations that ship (warehouses; stores with shipFromStore) whose
// daily capacity is not used up (null = unlimited), not excluded, inside onlyLocationIds when
// given (a channel's pool), with ATP > 0 for at least one line of the order. Choice (§7):
//   (1) fewest shipments covering the whole order; (2) smallest sum of great-circle distances
//   location→destination; (3) smallest sum of rank; (4) smallest sorted list of location ids,
//   compared element by element (JavaScript string order, i.e. UTF-16 code units).
//   Sums are taken over values sorted ascending, so they do not depend on enumeration order.
// WITHOUT DESTINATION (§7: an address without coordinates) step (2) is skipped: (1), (3), (4).
//   The search below is run unchanged with each candidate's "distance" (its cost) set to its
//   rank (an integer ≥ 0): the distance sum then equals the rank sum, so comparing (cost sum,
//   rank sum, ids) is exactly comparing (rank sum, ids), and every bound and the dominance rule
//   stay valid (they only need costs ≥ 0 and a plan's cost = the sum of its members' costs).
//   Shipments and explain candidates then carry distanceKm: null.
// EXACT whenever the best plan has ≤ 3 shipments: iterative deepening k = 1, 2, 3 with
//   - candidates = only locations holding ATP for some line; early exit on network shortfall;
//   - dominance: a location is dropped when another one, more than 1 mm nearer, fully covers
//     every line the first one holds — any plan using the first is beaten by swapping it for
//     the second (or dropping it); computed per line mask with a superset-min, O(n·L + L·2^L)
//     (orders of more than 12 distinct SKUs: a scan of the distinct masks; above 31: skipped);
//   - only the survivors are sorted and searched (typically tens out of hundreds);
//   - branching on the uncovered line with the fewest holders (every covering plan contains a
//     holder of it), holders tried nearest first, each tried holder banned from its later
//     siblings (so every set is visited once);
//   - branch-and-bound on the distance sum (holders are sorted, so the loop stops at the first
//     one that cannot beat the incumbent) plus a lower bound for the shipment still needed;
//   - capacity bound: a residual line must fit in the k' largest ATPs left for k' more picks.
// HEURISTIC when no plan of ≤ 3 shipments exists (greedy max coverage): repeatedly add the
//   candidate covering the most still-missing units (ties: nearer, lower rank, smaller id) until
//   the order is covered; then drop, farthest first, any pick the others make redundant.
// INFEASIBLE (network ATP short for some line): the same greedy runs until no candidate adds a
//   unit. The partial plan therefore covers every unit the network can cover (unassigned is
//   exactly the shortfall), usually with few shipments; feasible = false.
// Allocation (all modes): chosen locations in order of (distance, rank, id); for each line the
//   nearest takes as much as its ATP allows, then the next. Never exceeds ATP; deterministic.
//   Shipments are listed in that order, lines in order-line order.
// explain: true adds explain.candidates — every known location with its distance, decision and
//   reason (see ExplainReason in types.ts). For dropped candidates of an exact plan, the best
//   plan forced to use that location is computed to say whether it loses on shipments,
//   distance, rank or id. Explain costs more; use it for support, not on the hot path.
// pruning: false (benchmark baseline only) enumerates every k-subset of the candidates with no
//   dominance, bounds or branching rule; same results, much slower.
//
// Distances are unrounded km. Pure: reads the index, never writes it (the caller consumes
// capacity and reserves stock). Throws RangeError on invalid lines or destination.
// Synchronous and not re-entrant by design: per-plan scratch buffers sized to the index are
// reused across calls (no index-sized allocation per plan).
// Cost on 1,000 locations × 50,000 SKUs, 5-line orders: ~0.2 ms per plan (bench/routing-plan.ts);
// with explain, ~10–60 ms.

import { F_SHIP_OK, type AtpIndex } from './atp-index.js';
import { assertValidPoint, haversineRad, toRadians, type GeoPoint } from './geo.js';
import type {
  ExplainCandidate,
  ExplainReason,
  OrderLine,
  PlanExplain,
  PlanResult,
  ShipOrder,
  Shipment,
} from './types.js';

export interface PlanShipOptions {
  /** Add explain.candidates (slower). */
  explain?: boolean;
  /** Locations never to use (e.g. a store that rejected the lines). */
  excludeLocationIds?: Iterable<string>;
  /** Only these locations may ship (e.g. a channel's pool); unknown ids are simply never candidates. */
  onlyLocationIds?: Iterable<string>;
  /** Benchmark baseline only: false disables all pruning. Default true. */
  pruning?: boolean;
}

export interface RerouteRequest {
  /** Absent: route without destination (§7 step (2) skipped). */
  destination?: GeoPoint | undefined;
  /** The lines the location rejected. */
  rejectedLines: readonly OrderLine[];
  /** The location(s) that rejected them. */
  rejectedBy: string | readonly string[];
  /** Further locations to avoid (e.g. ones that rejected earlier). */
  excludeLocationIds?: readonly string[];
}

/** Largest plan size searched exactly (§7). */
export const EXACT_MAX_SHIPMENTS = 3;

/** Slack for distance bounds: far above float error (~1e-11 km), far below 1 m. */
const EPS = 1e-7;
/** Dominance by distance alone needs this margin so that float sums keep the order. */
const DOMINANCE_MARGIN_KM = 1e-6;
/** Dominance uses 32-bit line masks; above this many distinct lines it is skipped. */
const DOMINANCE_MAX_LINES = 31;
/** Up to this many lines, dominance uses a superset-min table over all 2^L masks. */
const DOMINANCE_SOS_MAX_LINES = 12;

export function mergeLines(lines: readonly OrderLine[]): OrderLine[] {
  if (!Array.isArray(lines)) throw new RangeError('lines must be an array');
  const out: OrderLine[] = [];
  const at = new Map<string, number>();
  lines.forEach((line, i) => {
    if (typeof line !== 'object' || line === null) throw new RangeError(`lines[${i}] must be an object`);
    if (typeof line.sku !== 'string' || line.sku.length === 0) {
      throw new RangeError(`lines[${i}].sku must be a non-empty string`);
    }
    if (!Number.isSafeInteger(line.quantity) || line.quantity <= 0) {
      throw new RangeError(`lines[${i}].quantity must be a positive integer`);
    }
    const j = at.get(line.sku);
    if (j === undefined) {
      at.set(line.sku, out.length);
      out.push({ sku: line.sku, quantity: line.quantity });
    } else {
      const merged = out[j]!;
      merged.quantity += line.quantity;
      if (!Number.isSafeInteger(merged.quantity)) throw new RangeError(`lines[${i}].quantity: total too large`);
    }
  });
  return out;
}

export function planReroute(req: RerouteRequest, index: AtpIndex, opts: PlanShipOptions = {}): PlanResult {
  const rejected = typeof req.rejectedBy === 'string' ? [req.rejectedBy] : [...req.rejectedBy];
  const exclude = new Set<string>([...rejected, ...(req.excludeLocationIds ?? [])]);
  for (const id of opts.excludeLocationIds ?? []) exclude.add(id);
  const order = req.destination === undefined ? { lines: req.rejectedLines } : { lines: req.rejectedLines, destination: req.destination };
  return planShip(order, index, {
    ...opts,
    excludeLocationIds: exclude,
  });
}

/** Candidates in (distance, rank, id) order; candidate numbers are positions in that order. */
interface Ctx {
  /** No destination: dist holds ranks (costs), shown distances are null. */
  noDest: boolean;
  L: number;
  q: Float64Array;
  lines: OrderLine[];
  n: number;
  slot: Int32Array; // candidate → index slot
  dist: Float64Array;
  rank: Float64Array;
  ids: string[];
  /** cov[c * L + l] = min(ATP of line l at c, quantity of l). */
  cov: Float64Array;
}

/**
 * Candidates as gathered, unsorted, in module scratch buffers (planShip is synchronous, so
 * they are valid until it returns). Avoids per-plan allocation of index-sized arrays.
 */
interface Raw {
  noDest: boolean;
  L: number;
  q: Float64Array;
  lines: OrderLine[];
  n: number;
  slot: Int32Array;
  dist: Float64Array;
  cov: Float64Array;
  /** Per line: sum over candidates of cov (network ATP that can ship, capped per location). */
  netSum: Float64Array;
}

interface Space {
  holders: Int32Array[]; // per line, candidates with cov > 0, ascending (= nearest first)
  top: Float64Array; // top[l * 4 + k] = sum of the k largest cov of line l (k = 0..3)
  minDist: Float64Array; // per line, distance of its nearest holder (Infinity if none)
}

interface Best {
  members: number[]; // candidates, ascending
  dist: number;
  rank: number;
  ids: string[]; // sorted
}

export function planShip(order: ShipOrder, index: AtpIndex, opts: PlanShipOptions = {}): PlanResult {
  const lines = mergeLines(order.lines);
  const dest = order.destination;
  if (dest !== undefined) assertValidPoint(dest, 'destination');
  const prune = opts.pruning !== false;
  const excludeIds = opts.excludeLocationIds === undefined ? [] : [...opts.excludeLocationIds];
  const onlyIds = opts.onlyLocationIds === undefined ? null : [...opts.onlyLocationIds];
  const raw = gatherCandidates(lines, dest, index, excludeIds, onlyIds);
  const { L, q } = raw;

  let shortfall = false;
  for (let l = 0; l < L; l++) if (raw.netSum[l]! < q[l]!) shortfall = true;

  let method: PlanExplain['method'];
  let ctx: Ctx | null = null; // the context `members` refer to
  let full: Ctx | null = null; // every candidate, sorted (built only when needed)
  let members: number[] = [];
  let best: Best | null = null;
  let nodes = 0;
  if (L === 0) {
    method = 'exact';
  } else if (shortfall) {
    method = 'partial';
  } else {
    const counter = { nodes: 0 };
    if (prune) {
      ctx = sortedCtx(index, raw, dominanceSurvivors(raw));
      const space = buildSpace(ctx);
      for (let k = 1; k <= EXACT_MAX_SHIPMENTS && best === null; k++) best = search(ctx, space, k, [], counter);
    } else {
      ctx = full = sortedCtx(index, raw, null);
      for (let k = 1; k <= EXACT_MAX_SHIPMENTS && best === null; k++) best = enumerateAll(ctx, k, counter);
    }
    nodes = counter.nodes;
    method = best !== null ? 'exact' : 'heuristic';
    if (best !== null) members = best.members;
  }
  if (L > 0 && best === null) {
    ctx = full ??= sortedCtx(index, raw, null);
    members = greedy(ctx);
  }

  const { shipments, unassigned, usedSlots } = ctx === null ? emptyAllocation(lines) : allocate(ctx, members);
  const result: PlanResult = { feasible: unassigned.length === 0, shipments, unassigned };
  if (opts.explain === true) {
    full ??= sortedCtx(index, raw, null);
    result.explain = {
      method,
      candidates: explainCandidates(full, index, dest, new Set(excludeIds), onlyIds === null ? null : new Set(onlyIds), usedSlots, method, best),
      searchNodes: nodes,
    };
  }
  return result;
}

const scratch = {
  gen: 0,
  stampGen: new Uint32Array(0),
  stampVal: new Int32Array(0),
  exclGen: new Uint32Array(0),
  onlyGen: new Uint32Array(0),
  slot: new Int32Array(0),
  dist: new Float64Array(0),
  cov: new Float64Array(0),
};

function gatherCandidates(
  lines: OrderLine[],
  dest: GeoPoint | undefined,
  index: AtpIndex,
  excludeIds: string[],
  onlyIds: string[] | null,
): Raw {
  const L = lines.length;
  const q = new Float64Array(L);
  for (let l = 0; l < L; l++) q[l] = lines[l]!.quantity;
  const slots = index.slotCount;
  if (scratch.stampGen.length < slots) {
    const cap = Math.max(slots, scratch.stampGen.length * 2, 64);
    scratch.stampGen = new Uint32Array(cap);
    scratch.stampVal = new Int32Array(cap);
    scratch.exclGen = new Uint32Array(cap);
    scratch.onlyGen = new Uint32Array(cap);
  }
  if (scratch.gen >= 0xfffffffe) {
    scratch.stampGen.fill(0);
    scratch.exclGen.fill(0);
    scratch.onlyGen.fill(0);
    scratch.gen = 0;
  }
  const gen = ++scratch.gen;
  const { stampGen, stampVal, exclGen, onlyGen } = scratch;
  for (const id of excludeIds) {
    const s = index.slotOf(id);
    if (s >= 0) exclGen[s] = gen;
  }
  const restricted = onlyIds !== null;
  if (restricted) {
    for (const id of onlyIds) {
      const s = index.slotOf(id);
      if (s >= 0) onlyGen[s] = gen;
    }
  }
  const rows = lines.map((l) => index.row(l.sku));
  let bound = 0;
  for (const row of rows) if (row !== undefined) bound += row.size;
  if (scratch.slot.length < bound) {
    const cap = Math.max(bound, scratch.slot.length * 2, 64);
    scratch.slot = new Int32Array(cap);
    scratch.dist = new Float64Array(cap);
  }
  if (scratch.cov.length < bound * L) scratch.cov = new Float64Array(Math.max(bound * L, scratch.cov.length * 2));
  const { slot, cov } = scratch;
  const netSum = new Float64Array(L);
  const flags = index.flags;
  const safety = index.safety;
  let n = 0;
  for (let l = 0; l < L; l++) {
    const row = rows[l];
    if (row === undefined) continue;
    const ql = q[l]!;
    const rl = row.locs;
    const rn = row.nets;
    let sum = 0;
    for (let i = 0; i < row.size; i++) {
      const s = rl[i]!;
      if ((flags[s]! & F_SHIP_OK) !== F_SHIP_OK || exclGen[s] === gen || (restricted && onlyGen[s] !== gen)) continue;
      // contract §4 ATP (as core/atp.ts): the location is active here, so max(0, net − safetyStock)
      const a = rn[i]! - safety[s]!;
      if (a <= 0) continue;
      let c: number;
      if (stampGen[s] === gen) c = stampVal[s]!;
      else {
        c = n++;
        stampGen[s] = gen;
        stampVal[s] = c;
        slot[c] = s;
        cov.fill(0, c * L, c * L + L);
      }
      const v = a < ql ? a : ql;
      cov[c * L + l] = v;
      sum += v;
    }
    netSum[l] = sum;
  }
  const dist = scratch.dist;
  if (dest === undefined) {
    // no destination: cost = rank (see the header), so the search minimises the rank sum
    const rank = index.rank;
    for (let c = 0; c < n; c++) dist[c] = rank[slot[c]!]!;
  } else {
    const dLat = toRadians(dest.lat);
    const dLon = toRadians(dest.lon);
    const dCos = Math.cos(dLat);
    const { latRad, lonRad, cosLat } = index;
    for (let c = 0; c < n; c++) {
      const s = slot[c]!;
      dist[c] = haversineRad(latRad[s]!, lonRad[s]!, cosLat[s]!, dLat, dLon, dCos);
    }
  }
  return { noDest: dest === undefined, L, q, lines, n, slot, dist, cov, netSum };
}

/** A sorted context over `pick` (raw candidate numbers; null = all), with fresh arrays. */
function sortedCtx(index: AtpIndex, raw: Raw, pick: Int32Array | null): Ctx {
  const { L } = raw;
  const m = pick === null ? raw.n : pick.length;
  const order = new Array<number>(m);
  for (let i = 0; i < m; i++) order[i] = pick === null ? i : pick[i]!;
  const ids = index.ids;
  const rank = index.rank;
  const rd = raw.dist;
  const rs = raw.slot;
  order.sort((a, b) => {
    const d = rd[a]! - rd[b]!;
    if (d !== 0) return d;
    const r = rank[rs[a]!]! - rank[rs[b]!]!;
    if (r !== 0) return r;
    const ia = ids[rs[a]!]!;
    const ib = ids[rs[b]!]!;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
  const ctx: Ctx = {
    noDest: raw.noDest,
    L,
    q: raw.q,
    lines: raw.lines,
    n: m,
    slot: new Int32Array(m),
    dist: new Float64Array(m),
    rank: new Float64Array(m),
    ids: new Array<string>(m),
    cov: new Float64Array(m * L),
  };
  for (let c = 0; c < m; c++) {
    const o = order[c]!;
    const s = rs[o]!;
    ctx.slot[c] = s;
    ctx.dist[c] = rd[o]!;
    ctx.rank[c] = rank[s]!;
    ctx.ids[c] = ids[s]!;
    ctx.cov.set(raw.cov.subarray(o * L, o * L + L), c * L);
  }
  return ctx;
}

/**
 * Raw candidates that may appear in an optimal plan. c is dominated when some other candidate
 * more than DOMINANCE_MARGIN_KM nearer fully covers every line c holds: swapping c for it (or
 * dropping c when it is already in the plan) gives a plan no larger and strictly shorter.
 * The margin keeps "strictly shorter" true after float rounding of the sums. Per full-cover
 * line mask, the nearest distance; then a superset-min over masks (O(L·2^L)).
 */
function dominanceSurvivors(raw: Raw): Int32Array | null {
  const { L, n, cov, q, dist } = raw;
  if (L > DOMINANCE_MAX_LINES) return null;
  const full = new Int32Array(n);
  const touch = new Int32Array(n);
  for (let c = 0; c < n; c++) {
    let f = 0;
    let t = 0;
    for (let l = 0; l < L; l++) {
      const v = cov[c * L + l]!;
      if (v > 0) t |= 1 << l;
      if (v >= q[l]!) f |= 1 << l;
    }
    touch[c] = t;
    full[c] = f;
  }
  const keep = new Int32Array(n);
  let k = 0;
  if (L <= DOMINANCE_SOS_MAX_LINES) {
    // nearest full coverer per mask, then superset-min over masks: O(L · 2^L)
    const M = 1 << L;
    const minD = new Float64Array(M).fill(Infinity);
    for (let c = 0; c < n; c++) {
      const f = full[c]!;
      if (f !== 0 && dist[c]! < minD[f]!) minD[f] = dist[c]!;
    }
    for (let b = 0; b < L; b++) {
      const bit = 1 << b;
      for (let m = 0; m < M; m++) if ((m & bit) === 0 && minD[m | bit]! < minD[m]!) minD[m] = minD[m | bit]!;
    }
    for (let c = 0; c < n; c++) if (!(minD[touch[c]!]! + DOMINANCE_MARGIN_KM < dist[c]!)) keep[k++] = c;
  } else {
    // many lines: the distinct full masks with their nearest distance, scanned per candidate
    const nearest = new Map<number, number>();
    for (let c = 0; c < n; c++) {
      const f = full[c]!;
      if (f === 0) continue;
      const d = nearest.get(f);
      if (d === undefined || dist[c]! < d) nearest.set(f, dist[c]!);
    }
    const masks = Int32Array.from(nearest.keys());
    const md = Float64Array.from(nearest.values());
    for (let c = 0; c < n; c++) {
      const t = touch[c]!;
      const limit = dist[c]! - DOMINANCE_MARGIN_KM;
      let dominated = false;
      for (let i = 0; i < masks.length; i++) {
        if (md[i]! < limit && (masks[i]! & t) === t) {
          dominated = true;
          break;
        }
      }
      if (!dominated) keep[k++] = c;
    }
  }
  return keep.subarray(0, k);
}

function buildSpace(ctx: Ctx): Space {
  const { L, n, cov, dist } = ctx;
  const holders: Int32Array[] = [];
  const top = new Float64Array(L * 4);
  const minDist = new Float64Array(L).fill(Infinity);
  const buf = new Int32Array(n);
  for (let l = 0; l < L; l++) {
    let k = 0;
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    for (let c = 0; c < n; c++) {
      const v = cov[c * L + l]!;
      if (v <= 0) continue;
      buf[k++] = c;
      if (v > t1) {
        t3 = t2;
        t2 = t1;
        t1 = v;
      } else if (v > t2) {
        t3 = t2;
        t2 = v;
      } else if (v > t3) t3 = v;
    }
    holders.push(buf.slice(0, k));
    if (k > 0) minDist[l] = dist[buf[0]!]!;
    top[l * 4 + 1] = t1;
    top[l * 4 + 2] = t1 + t2;
    top[l * 4 + 3] = t1 + t2 + t3;
  }
  return { holders, top, minDist };
}

function evaluate(ctx: Ctx, members: ArrayLike<number>, size: number): Best {
  const m: number[] = [];
  for (let i = 0; i < size; i++) m.push(members[i]!);
  m.sort((a, b) => a - b);
  const ds = m.map((c) => ctx.dist[c]!).sort((a, b) => a - b);
  const rs = m.map((c) => ctx.rank[c]!).sort((a, b) => a - b);
  let dist = 0;
  for (const d of ds) dist += d;
  let rank = 0;
  for (const r of rs) rank += r;
  const ids = m.map((c) => ctx.ids[c]!).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { members: m, dist, rank, ids };
}

/** Negative when a is the better plan (same size assumed). */
function compareBest(a: Best, b: Best): number {
  if (a.dist !== b.dist) return a.dist < b.dist ? -1 : 1;
  if (a.rank !== b.rank) return a.rank < b.rank ? -1 : 1;
  for (let i = 0; i < a.ids.length && i < b.ids.length; i++) {
    const x = a.ids[i]!;
    const y = b.ids[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.ids.length - b.ids.length;
}

/**
 * Best plan of at most K shipments containing `forced` (all of them), or null.
 * Only plans of exactly the smallest size are compared when called with increasing K.
 */
function search(ctx: Ctx, space: Space, K: number, forced: number[], counter: { nodes: number }): Best | null {
  const { L, n, cov, dist, q } = ctx;
  const { holders, top, minDist } = space;
  const res = new Float64Array((K + 1) * L);
  const chosen = new Int32Array(K);
  const inSet = new Uint8Array(n);
  const banned = new Uint8Array(n);
  const bannedStack = new Int32Array(n);
  let bannedTop = 0;
  let best: Best | null = null;
  let bestDist = Infinity;

  const consider = (size: number): void => {
    const cand = evaluate(ctx, chosen, size);
    if (best === null || compareBest(cand, best) < 0) {
      best = cand;
      bestDist = cand.dist;
    }
  };

  // apply forced members
  for (let l = 0; l < L; l++) res[l] = q[l]!;
  let depth0 = 0;
  let dist0 = 0;
  for (const f of forced) {
    if (depth0 >= K) return null;
    const base = depth0 * L;
    for (let l = 0; l < L; l++) {
      const r = res[base + l]! - cov[f * L + l]!;
      res[base + L + l] = r > 0 ? r : 0;
    }
    chosen[depth0++] = f;
    inSet[f] = 1;
    dist0 += dist[f]!;
  }
  {
    let done = true;
    for (let l = 0; l < L; l++) if (res[depth0 * L + l]! > 0) done = false;
    if (done) {
      consider(depth0);
      return best;
    }
  }

  const dfs = (depth: number, distSum: number): void => {
    counter.nodes++;
    const base = depth * L;
    const left = K - depth;
    let pivot = -1;
    let pivotCount = Infinity;
    for (let l = 0; l < L; l++) {
      const r = res[base + l]!;
      if (r <= 0) continue;
      if (r > top[l * 4 + left]!) return; // capacity bound
      const hc = holders[l]!.length;
      if (hc < pivotCount) {
        pivotCount = hc;
        pivot = l;
      }
    }
    if (pivot < 0) return;
    const hs = holders[pivot]!;
    const frameBans = bannedTop;
    const nb = base + L;
    for (let i = 0; i < hs.length; i++) {
      const h = hs[i]!;
      if (banned[h] === 1 || inSet[h] === 1) continue;
      const ds = distSum + dist[h]!;
      if (ds > bestDist + EPS) break; // holders are nearest first
      let done = true;
      let extra = 0;
      const hb = h * L;
      for (let l = 0; l < L; l++) {
        const r = res[base + l]! - cov[hb + l]!;
        if (r > 0) {
          res[nb + l] = r;
          done = false;
          const md = minDist[l]!;
          if (md > extra) extra = md;
        } else res[nb + l] = 0;
      }
      chosen[depth] = h;
      if (done) consider(depth + 1);
      else if (left > 1 && ds + extra <= bestDist + EPS) {
        inSet[h] = 1;
        dfs(depth + 1, ds);
        inSet[h] = 0;
      }
      banned[h] = 1;
      bannedStack[bannedTop++] = h;
    }
    while (bannedTop > frameBans) banned[bannedStack[--bannedTop]!] = 0;
  };

  dfs(depth0, dist0);
  return best;
}

/** Baseline without pruning: every k-subset of the candidates, in lexicographic order. */
function enumerateAll(ctx: Ctx, K: number, counter: { nodes: number }): Best | null {
  const { L, n, cov, q } = ctx;
  if (K > n) return null;
  const idx = Array.from({ length: K }, (_, i) => i);
  let best: Best | null = null;
  for (;;) {
    counter.nodes++;
    let covers = true;
    for (let l = 0; l < L && covers; l++) {
      let s = 0;
      for (let i = 0; i < K; i++) s += cov[idx[i]! * L + l]!;
      if (s < q[l]!) covers = false;
    }
    if (covers) {
      const cand = evaluate(ctx, idx, K);
      if (best === null || compareBest(cand, best) < 0) best = cand;
    }
    let i = K - 1;
    while (i >= 0 && idx[i] === n - K + i) i--;
    if (i < 0) return best;
    idx[i]!++;
    for (let j = i + 1; j < K; j++) idx[j] = idx[j - 1]! + 1;
  }
}

/** Greedy max coverage (heuristic and partial plans); returns candidates, ascending. */
function greedy(ctx: Ctx): number[] {
  const { L, n, cov, q } = ctx;
  const r = Float64Array.from(q);
  const picked = new Uint8Array(n);
  const members: number[] = [];
  let missing = 0;
  for (let l = 0; l < L; l++) missing += r[l]!;
  while (missing > 0) {
    let bestC = -1;
    let bestGain = 0;
    for (let c = 0; c < n; c++) {
      if (picked[c] === 1) continue;
      let gain = 0;
      for (let l = 0; l < L; l++) {
        const v = cov[c * L + l]!;
        const need = r[l]!;
        gain += v < need ? v : need;
      }
      if (gain > bestGain) {
        bestGain = gain;
        bestC = c;
      }
    }
    if (bestC < 0) break;
    picked[bestC] = 1;
    members.push(bestC);
    for (let l = 0; l < L; l++) {
      const left = r[l]! - cov[bestC * L + l]!;
      r[l] = left > 0 ? left : 0;
    }
    missing -= bestGain;
  }
  // drop picks the others make redundant, farthest first
  const covered = (set: number[]): number => {
    let total = 0;
    for (let l = 0; l < L; l++) {
      let s = 0;
      for (const c of set) s += cov[c * L + l]!;
      total += s < q[l]! ? s : q[l]!;
    }
    return total;
  };
  let set = [...members].sort((a, b) => a - b);
  const full = covered(set);
  for (let i = set.length - 1; i >= 0; i--) {
    const without = set.filter((_, j) => j !== i);
    if (covered(without) === full) set = without;
  }
  return set;
}

function allocate(
  ctx: Ctx,
  members: number[],
): { shipments: Shipment[]; unassigned: OrderLine[]; usedSlots: Set<number> } {
  const { L, cov, lines } = ctx;
  const sorted = [...members].sort((a, b) => a - b);
  const rem = Float64Array.from(ctx.q);
  const shipments: Shipment[] = [];
  const usedSlots = new Set<number>();
  for (const c of sorted) {
    const out: OrderLine[] = [];
    for (let l = 0; l < L; l++) {
      const need = rem[l]!;
      if (need <= 0) continue;
      const v = cov[c * L + l]!;
      const take = v < need ? v : need;
      if (take <= 0) continue;
      rem[l] = need - take;
      out.push({ sku: lines[l]!.sku, quantity: take });
    }
    if (out.length > 0) {
      shipments.push({ locationId: ctx.ids[c]!, distanceKm: ctx.noDest ? null : ctx.dist[c]!, lines: out });
      usedSlots.add(ctx.slot[c]!);
    }
  }
  const unassigned: OrderLine[] = [];
  for (let l = 0; l < L; l++) if (rem[l]! > 0) unassigned.push({ sku: lines[l]!.sku, quantity: rem[l]! });
  return { shipments, unassigned, usedSlots };
}

function emptyAllocation(lines: OrderLine[]): { shipments: Shipment[]; unassigned: OrderLine[]; usedSlots: Set<number> } {
  return { shipments: [], unassigned: lines.map((l) => ({ ...l })), usedSlots: new Set() };
}

function fmtKm(d: number): string {
  return `${d.toFixed(1)} km`;
}

/** The chosen plan summarised; without destination the cost sum is the rank sum. */
function fmtPlan(ctx: Ctx, b: Best): string {
  return ctx.noDest
    ? `${b.members.length} shipment(s), rank sum ${b.rank}`
    : `${b.members.length} shipment(s), ${fmtKm(b.dist)}, rank sum ${b.rank}`;
}

function explainCandidates(
  ctx: Ctx,
  index: AtpIndex,
  dest: GeoPoint | undefined,
  excluded: Set<string>,
  only: Set<string> | null,
  usedSlots: Set<number>,
  method: PlanExplain['method'],
  best: Best | null,
): ExplainCandidate[] {
  const out: ExplainCandidate[] = [];
  const dLat = dest === undefined ? 0 : toRadians(dest.lat);
  const dLon = dest === undefined ? 0 : toRadians(dest.lon);
  const dCos = Math.cos(dLat);
  const space = method === 'exact' && best !== null ? buildSpace(ctx) : null;
  const chosenSummary = best !== null ? `chosen plan: ${fmtPlan(ctx, best)}` : '';
  const candOf = new Map<number, number>();
  for (let c = 0; c < ctx.n; c++) candOf.set(ctx.slot[c]!, c);
  for (let s = 0; s < index.slotCount; s++) {
    const loc = index.locs[s];
    if (loc === undefined) continue;
    const c = candOf.get(s) ?? -1;
    const distanceKm =
      dest === undefined
        ? null
        : c >= 0
          ? ctx.dist[c]!
          : haversineRad(index.latRad[s]!, index.lonRad[s]!, index.cosLat[s]!, dLat, dLon, dCos);
    const base = { locationId: loc.id, distanceKm };
    const drop = (reason: ExplainReason, detail?: string): void => {
      out.push(detail === undefined ? { ...base, decision: 'dropped', reason } : { ...base, decision: 'dropped', reason, detail });
    };
    if (usedSlots.has(s)) {
      const reason: ExplainReason =
        method === 'exact' ? 'best plan' : method === 'heuristic' ? 'heuristic plan' : 'partial plan';
      out.push({ ...base, decision: 'chosen', reason });
      continue;
    }
    if (excluded.has(loc.id)) drop('excluded', 'excluded by the caller (e.g. it rejected these lines)');
    else if (only !== null && !only.has(loc.id)) drop('not allowed', 'not in the request\'s locationIds');
    else if (!loc.active) drop('inactive');
    else if (loc.type === 'store' && !loc.shipFromStore) drop('not a ship location', 'store without shipFromStore');
    else if (!index.hasCapacity(loc.id)) {
      drop('capacity used up', `${index.capacityUsed(loc.id)} of ${String(loc.dailyCapacity)} shipments used today`);
    } else if (c < 0) drop('no stock', 'no ATP for any line of the order');
    else if (space === null || best === null) {
      drop('not needed', method === 'partial' ? 'the partial plan covers what it could add' : 'not picked by the heuristic');
    } else {
      const forced = search(ctx, space, best.members.length, [c], { nodes: 0 });
      if (forced === null) drop('more shipments', `any plan using it needs more than ${best.members.length} shipment(s)`);
      else {
        const detail = `best plan using it: ${fmtPlan(ctx, forced)}; ${chosenSummary}`;
        if (forced.dist > best.dist) drop(ctx.noDest ? 'higher rank' : 'farther', detail);
        else if (forced.rank > best.rank) drop('higher rank', detail);
        else drop('location id', detail);
      }
    }
  }
  const rankOf = (id: string): number => index.getLocation(id)?.rank ?? 0;
  const key = (c: ExplainCandidate): number => c.distanceKm ?? rankOf(c.locationId);
  out.sort((a, b) => key(a) - key(b) || (a.locationId < b.locationId ? -1 : a.locationId > b.locationId ? 1 : 0));
  return out;
}
