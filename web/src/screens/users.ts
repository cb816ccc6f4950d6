// Users (admins): who may sign in, with which role, at which stores; create one or change one.
import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, enc } from '../api.js';
import { fmtDateTime } from '../format.js';
import type { Location, User } from '../types.js';
import { ErrorBox, Field, Loading } from '../ui.js';

const ROLES = ['staff', 'manager', 'admin'] as const;
const ID_RE = /^[A-Za-z0-9._@-]{1,64}$/;

export function Users() {
  const [users, setUsers] = useState<Array<User & { updatedAt: string }> | null>(null);
  const [locations, setLocations] = useState<Location[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [form, setForm] = useState({ id: '', name: '', role: 'staff' as (typeof ROLES)[number], locationIds: [] as string[], password: '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saveError, setSaveError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const inFlight = useRef(false);

  const load = useCallback(async () => {
    try {
      const [u, l] = await Promise.all([api<{ users: Array<User & { updatedAt: string }> }>('GET', '/v1/users'), api<{ items: Location[] }>('GET', '/v1/locations')]);
      setUsers(u.users);
      setLocations(l.items);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, []);
  useEffect(() => { void load(); }, [load]);

  const existing = users?.some((u) => u.id === form.id.trim()) ?? false;
  const edit = (u: User) => { setForm({ id: u.id, name: u.name, role: u.role, locationIds: [...u.locationIds], password: '' }); setDone(''); setErrors({}); };
  const toggle = (id: string) => setForm((f) => ({ ...f, locationIds: f.locationIds.includes(id) ? f.locationIds.filter((x) => x !== id) : [...f.locationIds, id] }));

  const save = async (ev: Event) => {
    ev.preventDefault();
    if (inFlight.current) return;
    const e: Record<string, string> = {};
    if (!ID_RE.test(form.id.trim())) e.id = 'A user id is 1–64 characters: letters, digits and . _ @ -';
    if (!form.name.trim()) e.name = 'Enter a name.';
    if (form.locationIds.length === 0) e.locations = 'Choose at least one location.';
    if ((!existing || form.password) && form.password.length < 10) e.password = existing ? 'A new password needs at least 10 characters (or leave it empty).' : 'A password needs at least 10 characters.';
    setErrors(e);
    setDone('');
    if (Object.keys(e).length > 0) return;
    inFlight.current = true;
    setBusy(true);
    setSaveError(null);
    try {
      const body = { name: form.name.trim(), role: form.role, locationIds: form.locationIds, ...(form.password ? { password: form.password } : {}) };
      const u = await api<User>('PUT', `/v1/users/${enc(form.id.trim())}`, body);
      setDone(`${existing ? 'Updated' : 'Created'} ${u.id} (${u.role}).`);
      setForm({ id: '', name: '', role: 'staff', locationIds: [], password: '' });
      await load();
    } catch (err) {
      setSaveError(err);
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  const err = (k: string) => (errors[k] ? html`<small class="field-error" id=${`user-${k}-err`}>${errors[k]}</small>` : null);
  return html`<section aria-labelledby="users-h">
    <h1 id="users-h">Users</h1>
    <${ErrorBox} error=${error} />
    ${users === null && !error ? html`<${Loading} what="users" />` : null}
    ${users ? html`<div class="table-wrap" tabindex="0" role="region" aria-label="User list">
      <table>
        <thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Locations</th><th scope="col">Changed</th><th scope="col"><span class="sr-only">Edit</span></th></tr></thead>
        <tbody>${users.map((u) => html`<tr>
          <th scope="row">${u.name}<br /><span class="muted mono">${u.id}</span></th><td>${u.role}</td><td>${u.locationIds.join(', ')}</td>
          <td class="nowrap">${fmtDateTime(u.updatedAt)}</td><td><button class="link" aria-label=${`Edit ${u.id}`} onClick=${() => edit(u)}>Edit</button></td>
        </tr>`)}</tbody>
      </table></div>` : null}
    <h2>${existing ? `Change ${form.id}` : 'Add a user'}</h2>
    <form onSubmit=${save} novalidate aria-label="User">
      <${Field} label="User id" id="user-id">
        <input id="user-id" autocomplete="off" autocapitalize="none" spellcheck=${false} value=${form.id} aria-invalid=${errors.id ? 'true' : undefined}
          onInput=${(e: Event) => setForm({ ...form, id: (e.target as HTMLInputElement).value })} />${err('id')}
      <//>
      <${Field} label="Name" id="user-name">
        <input id="user-name" autocomplete="off" maxlength="200" value=${form.name} aria-invalid=${errors.name ? 'true' : undefined}
          onInput=${(e: Event) => setForm({ ...form, name: (e.target as HTMLInputElement).value })} />${err('name')}
      <//>
      <${Field} label="Role" id="user-role">
        <select id="user-role" value=${form.role} onChange=${(e: Event) => setForm({ ...form, role: (e.target as HTMLSelectElement).value as (typeof ROLES)[number] })}>
          ${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}
        </select>
      <//>
      <fieldset class="kinds"><legend>Locations</legend>
        ${locations.map((l) => html`<label class="radio"><input type="checkbox" checked=${form.locationIds.includes(l.id)} onChange=${() => toggle(l.id)} /> ${l.name} (${l.id})</label>`)}
        ${err('locations')}
      </fieldset>
      <${Field} label=${existing ? 'New password (leave empty to keep)' : 'Password'} id="user-password">
        <input id="user-password" type="password" autocomplete="new-password" value=${form.password} aria-invalid=${errors.password ? 'true' : undefined}
          onInput=${(e: Event) => setForm({ ...form, password: (e.target as HTMLInputElement).value })} />${err('password')}
      <//>
      <${ErrorBox} error=${saveError} />
      <button type="submit" class="primary" disabled=${busy}>${busy ? 'Saving…' : existing ? 'Save changes' : 'Add user'}</button>
    </form>
    ${done ? html`<div class="ok" role="status">${done}</div>` : null}
  </section>`;
}
