// `omnistock route-batch --in orders.jsonl --out plans.jsonl [--reserve]`: plans (and with
// --reserve holds) one order per input line, the body of POST /v1/routing/plan. Writes one JSON
// record per non-blank input line, in input order: the plan with its input `line` number, or
// `{ line, error, errors? }` for a line that is not valid JSON, fails validation or cannot be held.
// A bad line never aborts the batch. Without --reserve a `reserve` in an order is ignored (plan
// only); with it, orders without one are held with the default TTL.
import fs from 'node:fs';
import readline from 'node:readline';
import { once } from 'node:events';
import { DEFAULT_TTL_SECONDS } from '../core/reservation.js';
import { ReservationConflict, ReservationInvalid } from '../reservations/errors.js';
import { PlanConflict, RoutingInvalid } from '../routing/errors.js';
import { planRequestErrors, planRequestSchema, type PlanRequest } from '../routing/plan-request.js';
import type { RoutingService } from '../routing/routing-service.js';
import type { Progress } from './progress.js';

export interface RouteBatchOptions {
  routing: RoutingService;
  inPath: string;
  outPath: string;
  reserve: boolean;
  explain?: boolean;
  /** Channel of held reservations when an order names none. */
  channel: string;
  progress?: Progress;
}

export interface RouteBatchSummary {
  orders: number;
  feasible: number;
  infeasible: number;
  reserved: number;
  errors: number;
}

async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const line of readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity })) if (line.trim() !== '') n++;
  return n;
}

function errorRecord(line: number, err: unknown): Record<string, unknown> {
  if (err instanceof RoutingInvalid || err instanceof ReservationInvalid) return { line, error: err.message, errors: err.errors };
  if (err instanceof PlanConflict) return { line, error: err.message, status: 409, shortages: err.shortages, capacity: err.capacity };
  if (err instanceof ReservationConflict) return { line, error: err.message, status: 409 };
  throw err; // a database failure is not the order's fault: stop rather than write wrong records
}

export async function routeBatch(o: RouteBatchOptions): Promise<RouteBatchSummary> {
  const total = await countLines(o.inPath);
  const out = fs.createWriteStream(o.outPath);
  const write = async (rec: unknown) => {
    if (!out.write(`${JSON.stringify(rec)}\n`)) await once(out, 'drain');
  };
  const summary: RouteBatchSummary = { orders: 0, feasible: 0, infeasible: 0, reserved: 0, errors: 0 };
  let lineNo = 0;
  let done = 0;
  o.progress?.update(0, total);
  try {
    for await (const text of readline.createInterface({ input: fs.createReadStream(o.inPath), crlfDelay: Infinity })) {
      lineNo++;
      if (text.trim() === '') continue;
      done++;
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (err) {
        summary.errors++;
        await write({ line: lineNo, error: `invalid JSON: ${(err as Error).message}` });
        o.progress?.update(done, total);
        continue;
      }
      const parsed = planRequestSchema.safeParse(withReserve(raw, o.reserve));
      if (!parsed.success) {
        const errors = planRequestErrors(parsed.error);
        summary.errors++;
        await write({ line: lineNo, error: errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors });
      } else {
        summary.orders++;
        try {
          const plan = await o.routing.plan(parsed.data as PlanRequest, { channel: o.channel, explain: o.explain === true });
          if (plan.feasible) summary.feasible++;
          else summary.infeasible++;
          if (plan.reservationId !== null) summary.reserved++;
          await write({ line: lineNo, ...(parsed.data.orderRef ? { orderRef: parsed.data.orderRef } : {}), ...plan });
        } catch (err) {
          summary.errors++;
          await write(errorRecord(lineNo, err));
        }
      }
      o.progress?.update(done, total);
    }
  } finally {
    out.end();
    await once(out, 'finish');
  }
  return summary;
}

/** --reserve decides whether orders are held, whatever the line says. */
function withReserve(raw: unknown, reserve: boolean): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const body = { ...(raw as Record<string, unknown>) };
  if (!reserve) {
    delete body.reserve;
    delete body.reservationId;
  } else if (body.reserve === undefined) body.reserve = { ttlSeconds: DEFAULT_TTL_SECONDS };
  return body;
}
