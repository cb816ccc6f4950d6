// Stock lookup: type or scan a SKU (a barcode scanner is a keyboard that ends with Enter),
// pick from prefix matches, see every location's figures, the nearest stores that have it, and
// its ledger history.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, enc } from '../api.js';
import { fmtDateTime, fmtKm, fmtNum, fmtSigned } from '../format.js';
import type { LedgerItem, StockLookup, User } from '../types.js';
import { canCorrect } from '../types.js';
import { ErrorBox, Loading, SKU_RE } from '../ui.js';

export function Lookup({ store, user, initialSku }: { store: string; user: User; initialSku: string }) {
  const [query, setQuery] = useState(initialSku);
  const [matches, setMatches] = useState<Array<{ sku: string; locations: number; onHand: number }>>([]);
  const [sku, setSku] = useState(initialSku);
  const [data, setData] = useState<StockLookup | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [history, setHistory] = useState<LedgerItem[] | null>(null);
  const [historyOpen, setHistoryOpen] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  // Prefix matches while typing (not for every scanner keystroke: debounced).
  useEffect(() => {
    const q = query.trim();
    if (!q || !/^[A-Za-z0-9._/-]{1,64}$/.test(q)) { setMatches([]); return; }
    const t = setTimeout(() => {
      api<{ items: typeof matches }>('GET', `/v1/skus?prefix=${enc(q)}&limit=12`).then((r) => setMatches(r.items), () => setMatches([]));
    }, 200);
    return () => clearTimeout(t);
  }, [query]);

  useEffect(() => {
    if (!sku) return;
    let stale = false;
    setLoading(true);
    setError(null);
    setHistory(null);
    setHistoryOpen(false);
    api<StockLookup>('GET', `/v1/stock/${enc(sku)}${store ? `?near=${enc(store)}` : ''}`)
      .then((d) => { if (!stale) setData(d); }, (e: unknown) => { if (!stale) { setError(e); setData(null); } })
      .finally(() => { if (!stale) setLoading(false); });
    return () => { stale = true; };
  }, [sku, store]);

  const open = (s: string) => {
    if (!SKU_RE.test(s)) {
      setError(new Error('A SKU is 1–64 characters: letters, digits and . _ / -'));
      return;
    }
    setSku(s);
    setMatches([]);
    history_replace(`#/lookup/${enc(s)}`);
  };

  const submit = (e: Event) => {
    e.preventDefault();
    const q = query.trim();
    if (q) open(q);
    input.current?.select();
  };

  const showHistory = async () => {
    setHistoryOpen(true);
    if (history) return;
    try {
      setHistory((await api<{ items: LedgerItem[] }>('GET', `/v1/ledger/${enc(sku)}?limit=100`)).items);
    } catch (e) {
      setError(e);
      setHistoryOpen(false);
    }
  };

  return html`
    <section aria-labelledby="lookup-h">
      <h1 id="lookup-h">Stock lookup</h1>
      <form class="search" role="search" onSubmit=${submit}>
        <label for="lookup-sku">SKU or barcode</label>
        <div class="row">
          <input id="lookup-sku" ref=${input} autofocus autocomplete="off" autocapitalize="characters" spellcheck=${false}
            placeholder="Scan or type a SKU" value=${query} aria-describedby="lookup-hint"
            onInput=${(e: Event) => setQuery((e.target as HTMLInputElement).value)} />
          <button type="submit" class="primary">Look up</button>
        </div>
        <small id="lookup-hint">A scanner works here: it types the code and presses Enter.</small>
      </form>
      ${matches.length > 0 && !(matches.length === 1 && matches[0]!.sku === sku)
        ? html`<ul class="matches" aria-label="Matching SKUs">
            ${matches.map((m) => html`<li><button class="link" onClick=${() => { setQuery(m.sku); open(m.sku); }}>${m.sku}</button>
              <span class="muted"> ${fmtNum(m.onHand)} on hand at ${fmtNum(m.locations)} locations</span></li>`)}
          </ul>`
        : null}
      <${ErrorBox} error=${error} />
      ${loading ? html`<${Loading} what=${`stock of ${sku}`} />` : null}
      ${data && !loading ? html`<${Result} data=${data} store=${store} user=${user} onHistory=${showHistory} />` : null}
      ${historyOpen ? (history ? html`<${History} items=${history} sku=${sku} />` : html`<${Loading} what="ledger history" />`) : null}
    </section>`;
}

function history_replace(hash: string) {
  if (location.hash !== hash) history.replaceState(null, '', hash);
}

function Result({ data, store, user, onHistory }: { data: StockLookup; store: string; user: User; onHistory: () => void }) {
  const here = data.locations.find((l) => l.locationId === store);
  return html`
    <div class="result">
      <h2><span class="sku">${data.sku}</span></h2>
      <dl class="figures" aria-label="Here">
        <div><dt>ATP here</dt><dd class="big">${here ? fmtNum(here.atp) : '0'}</dd></div>
        <div><dt>On hand here</dt><dd>${here ? fmtNum(here.onHand) : '0'}</dd></div>
        <div><dt>Network ATP</dt><dd>${fmtNum(data.network.atp)}</dd></div>
        <div><dt>Network on hand</dt><dd>${fmtNum(data.network.onHand)}</dd></div>
      </dl>
      <div class="actions">
        <button onClick=${onHistory}>Ledger history</button>
        ${canCorrect(user) ? html`<a class="button" href=${`#/correct/${enc(data.sku)}`}>Correct stock</a>` : null}
      </div>
      <h3>Nearest stores with stock</h3>
      ${data.nearest.length === 0
        ? html`<p class="muted">No other store can promise this item${data.from ? '' : ' (no store to measure from)'}.</p>`
        : html`<ol class="nearest" aria-label="Nearest stores with stock">
            ${data.nearest.map((n) => html`<li>
              <strong>${n.name}</strong>${' '}<span class="muted">(${n.locationId})</span>${' · '}<span>${fmtKm(n.distanceKm)}</span>${' · '}<span>ATP ${fmtNum(n.atp)}</span>
              ${n.pickup ? html` <span class="tag">pickup</span>` : null}${n.shipFromStore ? html` <span class="tag">ships</span>` : null}
            </li>`)}
          </ol>`}
      <h3>Per location</h3>
      ${data.locations.length === 0 ? html`<p class="muted">No location has ever held this SKU.</p>` : html`
      <div class="table-wrap" tabindex="0" role="region" aria-label="Stock per location">
        <table class="stock">
          <thead><tr><th scope="col">Location</th><th scope="col" class="num">ATP</th><th scope="col" class="num">On hand</th><th scope="col" class="num">Reserved</th>
            <th scope="col" class="num">Unavailable</th><th scope="col" class="num">Safety</th><th scope="col" class="num">Distance</th></tr></thead>
          <tbody>
            ${data.locations.map((l) => html`<tr class=${l.locationId === store ? 'here' : ''}>
              <th scope="row">${l.name}<br /><span class="muted">${l.locationId}${l.active ? '' : ' · inactive'}${l.oversold ? ' · oversold' : ''}${l.countRequested ? ' · count requested' : ''}</span></th>
              <td class="num"><strong>${fmtNum(l.atp)}</strong></td><td class="num">${fmtNum(l.onHand)}</td><td class="num">${fmtNum(l.reserved)}</td>
              <td class="num">${fmtNum(l.unavailable)}</td><td class="num">${fmtNum(l.safetyStock)}</td><td class="num nowrap">${fmtKm(l.distanceKm)}</td>
            </tr>`)}
          </tbody>
        </table>
      </div>`}
    </div>`;
}

function change(i: LedgerItem): string {
  const parts: string[] = [];
  if (i.countQuantity !== null) parts.push(`counted ${fmtNum(i.countQuantity)}`);
  if (i.onHandDelta) parts.push(`on hand ${fmtSigned(i.onHandDelta)}`);
  if (i.reservedDelta) parts.push(`reserved ${fmtSigned(i.reservedDelta)}`);
  if (i.unavailableDelta) parts.push(`unavailable ${fmtSigned(i.unavailableDelta)}`);
  if (i.missingDelta) parts.push(`missing ${fmtSigned(i.missingDelta)}`);
  return parts.join(', ') || '—';
}

function History({ items, sku }: { items: LedgerItem[]; sku: string }) {
  return html`
    <section aria-labelledby="hist-h" class="history">
      <h3 id="hist-h">Ledger history of ${sku}</h3>
      ${items.length === 0 ? html`<p class="muted">No entries yet.</p>` : html`
      <div class="table-wrap" tabindex="0" role="region" aria-label="Ledger history">
        <table class="wide">
          <thead><tr><th scope="col">When</th><th scope="col">Where</th><th scope="col">What</th><th scope="col">Who</th><th scope="col">Why</th><th scope="col">Event</th></tr></thead>
          <tbody>${items.map((i) => html`<tr>
            <td class="nowrap">${fmtDateTime(i.occurredAt)}</td><td class="nowrap">${i.locationId}</td><td class="nowrap">${i.kind}<br /><span class="muted">${change(i)}</span></td>
            <td class="nowrap">${i.source ?? '—'}</td><td class="why">${i.reason ?? '—'}</td><td class="mono">${i.eventId}${i.reservationId ? html`<br /><span class="muted">order ${i.reservationId}</span>` : null}</td>
          </tr>`)}</tbody>
        </table>
      </div>`}
    </section>`;
}
