// Corrections: receive, adjust with a reason, mark damaged, record a count. One event per
// submission, its id made when the submission is first sent and reused on every retry of it, so
// a double click or a retry after a lost answer is a duplicate the ledger ignores.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, enc, newEventId } from '../api.js';
import { fmtNum, fmtSigned } from '../format.js';
import type { IngestResult, StockLookup, User } from '../types.js';
import { ErrorBox, Field, SKU_RE } from '../ui.js';

type Kind = 'receive' | 'adjust' | 'damaged' | 'count';
const KINDS: Array<{ id: Kind; label: string }> = [
  { id: 'receive', label: 'Receive' }, { id: 'adjust', label: 'Adjust' }, { id: 'damaged', label: 'Damaged' }, { id: 'count', label: 'Count' },
];

export function Corrections({ store, user, initialSku }: { store: string; user: User; initialSku: string }) {
  const [kind, setKind] = useState<Kind>('receive');
  const [sku, setSku] = useState(initialSku);
  const [qty, setQty] = useState('');
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // Refs, not state: two clicks in one tick must see the first one's id and flight.
  const pendingId = useRef<string | null>(null);
  const inFlight = useRef(false);
  const [done, setDone] = useState<{ text: string; onHand: number; atp: number } | null>(null);

  // Any change to the form makes it a new submission (a new event id).
  useEffect(() => { pendingId.current = null; }, [kind, sku, qty, reason, store]);

  const validate = (): Record<string, string> => {
    const e: Record<string, string> = {};
    if (!SKU_RE.test(sku.trim())) e.sku = 'A SKU is 1–64 characters: letters, digits and . _ / -';
    const n = Number(qty);
    if (qty.trim() === '' || !Number.isInteger(n)) e.qty = 'Enter a whole number.';
    else if (kind === 'adjust' && n === 0) e.qty = 'An adjustment cannot be 0.';
    else if ((kind === 'receive' || kind === 'damaged') && n <= 0) e.qty = 'Enter a number above 0.';
    else if (kind === 'count' && n < 0) e.qty = 'A count cannot be negative.';
    else if (Math.abs(n) > 1_000_000_000) e.qty = 'That number is too large.';
    if ((kind === 'adjust' || kind === 'damaged') && !reason.trim()) e.reason = 'Say why (it is kept in the ledger).';
    if (!store) e.store = 'You have no store to correct stock at.';
    return e;
  };

  const submit = async (ev: Event) => {
    ev.preventDefault();
    if (inFlight.current) return;
    const e = validate();
    setErrors(e);
    setDone(null);
    if (Object.keys(e).length > 0) return;
    const eventId = pendingId.current ?? newEventId(`app-${kind}`);
    pendingId.current = eventId;
    inFlight.current = true;
    const n = Number(qty);
    const s = sku.trim();
    const base = { eventId, sku: s, locationId: store, occurredAt: new Date().toISOString(), source: `staff:${user.id}` };
    const event = kind === 'receive' ? { ...base, type: 'stock.received', quantity: n }
      : kind === 'adjust' ? { ...base, type: 'stock.adjusted', delta: n, reason: reason.trim() }
      : kind === 'damaged' ? { ...base, type: 'stock.unavailable', quantity: n, reason: `damaged: ${reason.trim()}` }
      : { ...base, type: 'stock.counted', quantity: n };
    setBusy(true);
    setError(null);
    try {
      const r = await api<IngestResult>('POST', '/v1/events?wait=true', { events: [event] });
      if (r.rejected.length > 0) throw new Error(r.rejected[0]!.error);
      const after = await api<StockLookup>('GET', `/v1/stock/${enc(s)}?near=${enc(store)}`);
      const here = after.locations.find((l) => l.locationId === store);
      const what = kind === 'receive' ? `Received ${fmtNum(n)}` : kind === 'adjust' ? `Adjusted by ${fmtSigned(n)}` : kind === 'damaged' ? `Marked ${fmtNum(n)} damaged` : `Counted ${fmtNum(n)}`;
      setDone({ text: `${what} of ${s} at ${store}${r.duplicates > 0 ? ' (already recorded before)' : ''}.`, onHand: here?.onHand ?? 0, atp: here?.atp ?? 0 });
      setQty('');
      setReason('');
      pendingId.current = null;
    } catch (err) {
      setError(err); // the same eventId is kept: sending again cannot count twice
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  const needsReason = kind === 'adjust' || kind === 'damaged';
  const qtyLabel = kind === 'adjust' ? 'Change (+ or −)' : kind === 'count' ? 'Counted quantity' : 'Quantity';
  return html`
    <section aria-labelledby="corr-h">
      <h1 id="corr-h">Correct stock at ${store}</h1>
      <form onSubmit=${submit} novalidate aria-label="Stock correction">
        <fieldset class="kinds"><legend>What happened</legend>
          ${KINDS.map((k) => html`<label class="radio"><input type="radio" name="kind" value=${k.id} checked=${kind === k.id}
            onChange=${() => setKind(k.id)} /> ${k.label}</label>`)}
        </fieldset>
        <${Field} label="SKU" id="corr-sku">
          <input id="corr-sku" autocomplete="off" spellcheck=${false} value=${sku} aria-invalid=${errors.sku ? 'true' : undefined}
            aria-describedby=${errors.sku ? 'corr-sku-err' : undefined} onInput=${(e: Event) => setSku((e.target as HTMLInputElement).value)} />
          ${errors.sku ? html`<small class="field-error" id="corr-sku-err">${errors.sku}</small>` : null}
        <//>
        <${Field} label=${qtyLabel} id="corr-qty">
          <input id="corr-qty" inputmode="numeric" autocomplete="off" value=${qty} aria-invalid=${errors.qty ? 'true' : undefined}
            aria-describedby=${errors.qty ? 'corr-qty-err' : undefined} onInput=${(e: Event) => setQty((e.target as HTMLInputElement).value)} />
          ${errors.qty ? html`<small class="field-error" id="corr-qty-err">${errors.qty}</small>` : null}
        <//>
        ${needsReason ? html`<${Field} label="Reason" id="corr-reason">
          <input id="corr-reason" autocomplete="off" maxlength="500" value=${reason} aria-invalid=${errors.reason ? 'true' : undefined}
            aria-describedby=${errors.reason ? 'corr-reason-err' : undefined} onInput=${(e: Event) => setReason((e.target as HTMLInputElement).value)} />
          ${errors.reason ? html`<small class="field-error" id="corr-reason-err">${errors.reason}</small>` : null}
        <//>` : null}
        ${errors.store ? html`<p class="field-error">${errors.store}</p>` : null}
        <${ErrorBox} error=${error} />
        <button type="submit" class="primary" disabled=${busy}>${busy ? 'Recording…' : 'Record'}</button>
      </form>
      ${done ? html`<div class="ok" role="status">
        <p>${done.text}</p>
        <p>Now on hand: <strong>${fmtNum(done.onHand)}</strong> · ATP: <strong>${fmtNum(done.atp)}</strong></p>
      </div>` : null}
    </section>`;
}
