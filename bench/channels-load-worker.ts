// The "other traffic" of the channel sync benchmark, in its own process: stock events posted
// over HTTP at a fixed rate (batches every 100 ms), on SKUs and locations outside the measured
// channel's pool. Reports what it achieved to the parent.
const url = process.env.LOAD_URL!;
const token = process.env.LOAD_TOKEN!;
const rate = Number(process.env.LOAD_RATE ?? 10_000);
const seconds = Number(process.env.LOAD_SECONDS ?? 20);
const TICK_MS = 100;
const perTick = Math.round((rate * TICK_MS) / 1000);
const PER_REQUEST = 1000;

let sent = 0;
let failed = 0;
let seq = 0;
const inFlight = new Set<Promise<void>>();

function batch(n: number) {
  const now = new Date().toISOString();
  return Array.from({ length: n }, () => {
    seq += 1;
    const sku = `LOAD-${seq % 10_000}`;
    const locationId = seq % 2 === 0 ? 'utr-02' : 'wh-2';
    return seq % 3 === 0
      ? { eventId: `load-${process.pid}-${seq}`, type: 'stock.received', sku, locationId, quantity: 2, occurredAt: now, source: 'bench-load' }
      : { eventId: `load-${process.pid}-${seq}`, type: 'stock.sold', sku, locationId, quantity: 1, occurredAt: now, source: 'bench-load' };
  });
}

async function post(events: unknown[]) {
  try {
    const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
    await res.arrayBuffer();
    if (res.status === 202) sent += events.length;
    else failed += events.length;
  } catch {
    failed += events.length;
  }
}

const start = performance.now();
let tick = 0;
while (performance.now() - start < seconds * 1000) {
  for (let left = perTick; left > 0; left -= PER_REQUEST) {
    const p = post(batch(Math.min(PER_REQUEST, left)));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }
  tick += 1;
  const wait = start + tick * TICK_MS - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
await Promise.all(inFlight);
const elapsed = (performance.now() - start) / 1000;
process.send?.({ sent, failed, seconds: elapsed, rate: sent / elapsed });
process.exit(0);
