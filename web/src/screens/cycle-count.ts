// Cycle count mode: start, scan items one after another (each scan adds one), correct a tally
// by hand, submit. Every count is submitted as of the moment counting started (contract §6): a
// sale rung up during the count occurred after that moment and lands on top of it.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, newEventId } from '../api.js';
import { fmtDateTime, fmtNum, fmtTime } from '../format.js';
import type { IngestResult, User } from '../types.js';
import { ErrorBox, SKU_RE } from '../ui.js';

interface CountSession { id: string; store: string; startedAt: string; tally: Array<[string, number]> }
const KEY = 'omnistock.count';

function loadSaved(store: string): CountSession | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as CountSession | null;
    return s && s.store === store ? s : null;
  } catch {
    return null;
  }
}

export function CycleCount({ store }: { store: string; user: User }) {
  const [count, setCount] = useState<CountSession | null>(() => loadSaved(store));
  const [scan, setScan] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [scanError, setScanError] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const scanInput = useRef<HTMLInputElement>(null);
  const inFlight = useRef(false);

  // A count in progress survives a reload of the page (not a sign-out: sessionStorage).
  useEffect(() => {
    if (count) sessionStorage.setItem(KEY, JSON.stringify(count));
    else sessionStorage.removeItem(KEY);
  }, [count]);
  useEffect(() => { if (count) scanInput.current?.focus(); }, [count?.id]);

  const start = () => {
    setDone(null);
    setError(null);
    setCount({ id: newEventId('count'), store, startedAt: new Date().toISOString(), tally: [] });
  };

  const add = (sku: string, by: number) => {
    setCount((c) => {
      if (!c) return c;
      const tally = c.tally.map(([s, n]): [string, number] => [s, s === sku ? Math.max(0, n + by) : n]);
      if (!tally.some(([s]) => s === sku)) tally.unshift([sku, Math.max(0, by)]);
      return { ...c, tally };
    });
  };
  const setQty = (sku: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) return;
    setCount((c) => (c ? { ...c, tally: c.tally.map(([s, q]): [string, number] => [s, s === sku ? n : q]) } : c));
  };
  const remove = (sku: string) => setCount((c) => (c ? { ...c, tally: c.tally.filter(([s]) => s !== sku) } : c));

  const onScan = (e: Event) => {
    e.preventDefault();
    const s = scan.trim();
    setScan('');
    if (!s) return;
    if (!SKU_RE.test(s)) {
      setScanError(`"${s}" is not a SKU (1–64 characters: letters, digits and . _ / -)`);
      return;
    }
    setScanError('');
    add(s, 1);
  };

  const submit = async () => {
    if (!count || inFlight.current) return;
    if (count.tally.length === 0) { setError(new Error('Scan at least one item first.')); return; }
    inFlight.current = true;
    setBusy(true);
    setError(null);
    // Ids from the count's id and the SKU: resubmitting the same count (a retry, a double
    // click) is a duplicate, never a second count.
    const events = count.tally.map(([sku, quantity]) => ({
      eventId: `${count.id}:${sku}`, type: 'stock.counted', sku, locationId: count.store, quantity, occurredAt: count.startedAt, source: 'staff',
    }));
    try {
      const r = await api<IngestResult>('POST', '/v1/events?wait=true', { events });
      if (r.rejected.length > 0) throw new Error(`Not recorded: ${r.rejected.map((x) => `${events[x.index]?.sku}: ${x.error}`).join('; ')}`);
      setDone(`Count of ${fmtNum(events.length)} SKU${events.length === 1 ? '' : 's'} recorded as of ${fmtDateTime(count.startedAt)}.`);
      setCount(null);
    } catch (err) {
      setError(err);
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  if (!count) {
    return html`<section aria-labelledby="count-h">
      <h1 id="count-h">Cycle count at ${store}</h1>
      <p>Counts are recorded as of the moment you start, so sales during the count are still taken off correctly.</p>
      ${done ? html`<div class="ok" role="status">${done}</div>` : null}
      <button class="primary" onClick=${start} disabled=${!store}>Start counting</button>
    </section>`;
  }
  return html`<section aria-labelledby="count-h">
    <h1 id="count-h">Counting at ${count.store}</h1>
    <p class="muted">Started at ${fmtTime(count.startedAt)}; every count is recorded as of then.</p>
    <form onSubmit=${onScan} class="search" aria-label="Scan an item">
      <label for="count-scan">Scan item</label>
      <div class="row">
        <input id="count-scan" ref=${scanInput} autocomplete="off" spellcheck=${false} value=${scan} aria-describedby="count-scan-hint"
          onInput=${(e: Event) => setScan((e.target as HTMLInputElement).value)} />
        <button type="submit">Add 1</button>
      </div>
      <small id="count-scan-hint">Each scan adds one. Change a number below to correct it.</small>
      ${scanError ? html`<small class="field-error" role="alert">${scanError}</small>` : null}
    </form>
    ${count.tally.length === 0 ? html`<p class="muted">Nothing scanned yet.</p>` : html`
    <table class="tally" aria-label="Counted so far">
      <thead><tr><th scope="col">SKU</th><th scope="col" class="num">Counted</th><th scope="col"><span class="sr-only">Remove</span></th></tr></thead>
      <tbody>${count.tally.map(([sku, n]) => html`<tr>
        <th scope="row" class="mono">${sku}</th>
        <td class="num"><input class="qty" inputmode="numeric" aria-label=${`Counted ${sku}`} value=${String(n)}
          onChange=${(e: Event) => setQty(sku, (e.target as HTMLInputElement).value)} /></td>
        <td><button class="link" aria-label=${`Remove ${sku}`} onClick=${() => remove(sku)}>Remove</button></td>
      </tr>`)}</tbody>
    </table>`}
    <${ErrorBox} error=${error} />
    <div class="actions">
      <button class="primary" onClick=${submit} disabled=${busy}>${busy ? 'Submitting…' : 'Submit count'}</button>
      <button onClick=${() => { if (confirm('Discard this count?')) setCount(null); }} disabled=${busy}>Discard</button>
    </div>
  </section>`;
}
