// Channel status (admins): last push, pending pushes, drift, throttling and quarantined items,
// with a button to sync now. The channel API may not be installed on this server: a 404 from it
// is shown as "no channels configured", not as a failure.
import { html } from 'htm/preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, ApiError, enc } from '../api.js';
import { fmtDateTime, fmtNum } from '../format.js';
import { ErrorBox, Loading } from '../ui.js';

interface Channel { id: string; kind: string; pool: string[]; bufferUnits: number; active: boolean }
interface Status {
  channelId: string; kind: string; active: boolean; lastPushAt: string | null; lastPullAt: string | null; pendingPushes: number;
  errors: Array<{ at: string; sku: string | null; message: string; retryable: boolean }>;
  throttle: { throttled: boolean; until: string | null; tokens: number; ratePerSecond: number; burst: number } | null;
  drift: { checkedAt: string | null; items: number; units: number } | null;
  quarantined: number;
}
interface Quarantined { id: string | number; channelRef: string; reason: string; at: string }

export function Channels() {
  const [channels, setChannels] = useState<Channel[] | null>(null);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      setChannels((await api<{ channels: Channel[] }>('GET', '/v1/channels')).channels);
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) { setMissing(true); setChannels([]); } else setError(e);
    }
  }, []);
  useEffect(() => { void load(); }, [load]);

  return html`<section aria-labelledby="ch-h">
    <h1 id="ch-h">Channels</h1>
    <${ErrorBox} error=${error} />
    ${channels === null && !error ? html`<${Loading} what="channels" />` : null}
    ${channels && channels.length === 0 ? html`<p class="empty">No channels configured${missing ? ' (this server has no channel API)' : ''}.</p>` : null}
    ${(channels ?? []).map((c) => html`<${ChannelCard} key=${c.id} channel=${c} />`)}
  </section>`;
}

function ChannelCard({ channel }: { channel: Channel }) {
  const [status, setStatus] = useState<Status | null>(null);
  const [quarantine, setQuarantine] = useState<Quarantined[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const load = useCallback(async () => {
    try {
      setStatus(await api<Status>('GET', `/v1/channels/${enc(channel.id)}/status`));
      setQuarantine((await api<{ items: Quarantined[] }>('GET', `/v1/channels/${enc(channel.id)}/quarantine`)).items);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [channel.id]);
  useEffect(() => { void load(); }, [load]);
  const sync = async () => {
    setBusy(true);
    try {
      await api('POST', `/v1/channels/${enc(channel.id)}/sync`);
      setNote('Sync requested: pending pushes are retried and the channel is read again.');
      setTimeout(() => void load(), 1500);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const when = (v: string | null | undefined) => (v ? fmtDateTime(v) : 'never');
  return html`<article class="channel" aria-label=${`Channel ${channel.id}`}>
    <div class="order-head"><strong>${channel.id}</strong> <span class="tag">${channel.kind}</span>
      ${channel.active ? null : html`<span class="status">inactive</span>`}</div>
    <${ErrorBox} error=${error} />
    ${status ? html`<dl class="figures">
      <div><dt>Last push</dt><dd>${when(status.lastPushAt)}</dd></div>
      <div><dt>Last pull</dt><dd>${when(status.lastPullAt)}</dd></div>
      <div><dt>Pending pushes</dt><dd>${fmtNum(status.pendingPushes)}</dd></div>
      <div><dt>Drift</dt><dd>${status.drift ? `${fmtNum(status.drift.items)} items, ${fmtNum(status.drift.units)} units` : '—'}</dd></div>
      <div><dt>Throttling</dt><dd>${status.throttle?.throttled ? `throttled until ${when(status.throttle.until)}` : 'no'}</dd></div>
      <div><dt>Quarantined</dt><dd>${fmtNum(status.quarantined)}</dd></div>
    </dl>` : error ? null : html`<${Loading} what="status" />`}
    ${status && status.errors.length > 0 ? html`<h3>Recent errors</h3><ul>${status.errors.slice(0, 10).map((e) => html`<li>${when(e.at)} · ${e.sku ?? '—'} · ${e.message}${e.retryable ? ' (will retry)' : ''}</li>`)}</ul>` : null}
    ${quarantine.length > 0 ? html`<h3>Quarantined items</h3><ul>${quarantine.slice(0, 20).map((q) => html`<li>${when(q.at)} · <span class="mono">${q.channelRef}</span> · ${q.reason}</li>`)}</ul>` : null}
    ${note ? html`<p class="ok" role="status">${note}</p>` : null}
    <button onClick=${sync} disabled=${busy}>${busy ? 'Requesting…' : 'Retry / sync now'}</button>
  </article>`;
}
