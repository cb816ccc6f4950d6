// The store's fulfilment queue, refreshed every few seconds (polling: it works through any proxy
// and needs nothing held open on a handheld). Per order: pick, pack, ready or ship, hand over.
// Per line: "can't find" re-routes the units and says where they went. "Print pick list"
// prints what is still to pick, by SKU.
import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, enc } from '../api.js';
import { fmtAge, fmtNum, fmtTime } from '../format.js';
import type { QueueOrder, User } from '../types.js';
import { ErrorBox, Loading } from '../ui.js';

const POLL_MS = 2000;
const STATUS_LABEL: Record<string, string> = {
  new: 'New', picked: 'Picked', packed: 'Packed', ready: 'Ready for pickup', shipped: 'Shipped', handed_over: 'Handed over',
};
const NEXT: Record<string, Array<{ action: string; label: string; method?: 'ship' | 'pickup' }>> = {
  new: [{ action: 'pick', label: 'Picked' }],
  picked: [{ action: 'pack', label: 'Packed' }],
  packed: [{ action: 'ready', label: 'Ready for pickup', method: 'pickup' }, { action: 'ship', label: 'Shipped', method: 'ship' }],
  ready: [{ action: 'hand-over', label: 'Handed over', method: 'pickup' }],
};

interface Rerouted { sku: string; quantity: number; shipments: Array<{ locationId: string; distanceKm: number | null }>; unassigned: Array<{ sku: string; quantity: number }> }

export function Queue({ store }: { store: string; user: User }) {
  const [orders, setOrders] = useState<QueueOrder[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string>('');
  const [busy, setBusy] = useState<string>('');
  const [now, setNow] = useState(Date.now());
  const lastBody = useRef('');

  const load = useCallback(async () => {
    try {
      const r = await api<{ orders: QueueOrder[] }>('GET', `/v1/locations/${enc(store)}/queue`);
      const body = JSON.stringify(r.orders);
      if (body !== lastBody.current) {
        lastBody.current = body;
        setOrders(r.orders);
      }
      setError(null);
    } catch (e) {
      setError(e);
      if (e instanceof ApiError && e.status === 403) setOrders([]);
    }
    setNow(Date.now());
  }, [store]);

  useEffect(() => {
    lastBody.current = '';
    setOrders(null);
    void load();
    const t = setInterval(() => { if (document.visibilityState !== 'hidden') void load(); }, POLL_MS);
    return () => clearInterval(t);
  }, [load]);

  const act = async (o: QueueOrder, action: string, label: string) => {
    if (busy) return;
    setBusy(`${o.reservationId}:${action}`);
    setActionError(null);
    try {
      await api('POST', `/v1/locations/${enc(store)}/queue/${enc(o.reservationId)}/${action}`);
      setNotice(`Order ${o.orderRef ?? o.reservationId}: ${label.toLowerCase()}.${action === 'ship' || action === 'hand-over' ? ' Its reservation is fulfilled.' : ''}`);
      await load();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy('');
    }
  };

  const cantFind = async (o: QueueOrder, lineNo: number, sku: string) => {
    if (busy) return;
    if (!confirm(`Report ${sku} of order ${o.orderRef ?? o.reservationId} as not found? The units are taken out of stock here until counted, and the line is re-routed.`)) return;
    setBusy(`${o.reservationId}:line${lineNo}`);
    setActionError(null);
    try {
      const r = await api<Rerouted>('POST', `/v1/locations/${enc(store)}/queue/${enc(o.reservationId)}/lines/${lineNo}/not-found`, {});
      const went = r.shipments.map((s) => s.locationId).join(', ');
      setNotice(`${fmtNum(r.quantity)} × ${r.sku} not found: ${went ? `re-routed to ${went}` : 'not re-routed (pickup orders stay at their store, or no other location has it): the order is short'}.`);
      await load();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy('');
    }
  };

  const toPick = (orders ?? []).filter((o) => o.status === 'new');
  return html`
    <section aria-labelledby="queue-h" class="queue">
      <div class="heading-row">
        <h1 id="queue-h">Queue at ${store}</h1>
        <button onClick=${() => print()} disabled=${toPick.length === 0}>Print pick list</button>
      </div>
      <p class="muted" aria-live="polite">${orders ? `${fmtNum(orders.length)} open order${orders.length === 1 ? '' : 's'} · updates by itself` : ''}</p>
      ${notice ? html`<div class="ok" role="status">${notice}</div>` : null}
      <${ErrorBox} error=${actionError} />
      <${ErrorBox} error=${error} />
      ${orders === null && !error ? html`<${Loading} what="the queue" />` : null}
      ${orders && orders.length === 0 && !error ? html`<p class="empty">No orders waiting. New ones appear here without a reload.</p>` : null}
      <ul class="orders" aria-label="Orders">
        ${(orders ?? []).map((o) => {
          const overdue = Date.parse(o.promisedBy) < now;
          return html`<li class="order" aria-label=${`Order ${o.orderRef ?? o.reservationId}`}>
            <div class="order-head">
              <strong>${o.orderRef ?? o.reservationId}</strong>
              <span class="tag">${o.method === 'pickup' ? 'Pickup' : 'Ship'}</span>
              <span class=${`status s-${o.status}`}>${STATUS_LABEL[o.status] ?? o.status}</span>
            </div>
            <div class="muted">${o.channel} · received ${fmtAge(o.createdAt, now)} · <span class=${overdue ? 'late' : ''}>promised by ${fmtTime(o.promisedBy)}${overdue ? ' (late)' : ''}</span></div>
            <table class="lines">
              <thead><tr><th scope="col">SKU</th><th scope="col" class="num">Qty</th><th scope="col"><span class="sr-only">Line</span></th></tr></thead>
              <tbody>${o.lines.map((l) => html`<tr class=${l.state === 'rejected' ? 'rejected' : ''}>
                <th scope="row" class="mono">${l.sku}</th><td class="num">${fmtNum(l.quantity)}</td>
                <td>${l.state === 'rejected'
                  ? html`<span class="muted">not found → ${l.reroutedTo && l.reroutedTo.length > 0 ? l.reroutedTo.map((r) => `${r.locationId} (${fmtNum(r.quantity)})`).join(', ') : 'nowhere (short)'}</span>`
                  : l.state === 'held' || l.state === 'committed'
                    ? html`<button class="link danger" disabled=${Boolean(busy)} onClick=${() => cantFind(o, l.lineNo, l.sku)} aria-label=${`Can't find ${l.sku}`}>Can't find</button>`
                    : html`<span class="muted">${l.state}</span>`}</td>
              </tr>`)}</tbody>
            </table>
            <div class="actions">
              ${(NEXT[o.status] ?? []).filter((n) => !n.method || n.method === o.method).map((n) => html`
                <button class="primary" disabled=${Boolean(busy)} onClick=${() => act(o, n.action, n.label)}>${busy === `${o.reservationId}:${n.action}` ? 'Saving…' : n.label}</button>`)}
            </div>
          </li>`;
        })}
      </ul>
      <${PickList} orders=${toPick} store=${store} />
    </section>`;
}

/** Only printed (see app.css): what to take off the shelves for orders not yet picked. */
function PickList({ orders, store }: { orders: QueueOrder[]; store: string }) {
  const bySku = new Map<string, { quantity: number; refs: string[] }>();
  for (const o of orders) {
    for (const l of o.lines) {
      if (l.state !== 'held' && l.state !== 'committed') continue;
      const e = bySku.get(l.sku) ?? { quantity: 0, refs: [] };
      e.quantity += l.quantity;
      e.refs.push(o.orderRef ?? o.reservationId);
      bySku.set(l.sku, e);
    }
  }
  const rows = [...bySku].sort(([a], [b]) => (a < b ? -1 : 1));
  return html`<div class="pick-list" aria-hidden="true">
    <h2>Pick list · ${store} · ${new Date().toLocaleString()}</h2>
    <table><thead><tr><th>✓</th><th>SKU</th><th>Qty</th><th>Orders</th></tr></thead>
      <tbody>${rows.map(([sku, e]) => html`<tr><td>☐</td><td>${sku}</td><td>${fmtNum(e.quantity)}</td><td>${e.refs.join(', ')}</td></tr>`)}</tbody>
    </table>
  </div>`;
}
