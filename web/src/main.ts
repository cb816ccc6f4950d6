// The store app: sign-in, then stock lookup, corrections, cycle counts, the store's queue and
// (admins) channel status. Hash routes keep every screen one URL under /app.
import { html, render } from 'htm/preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, ApiError, configureApi } from './api.js';
import type { Session, User } from './types.js';
import { canCorrect } from './types.js';
import { ErrorBox, Loading } from './ui.js';
import { SignIn } from './screens/sign-in.js';
import { Lookup } from './screens/lookup.js';
import { Corrections } from './screens/corrections.js';
import { CycleCount } from './screens/cycle-count.js';
import { Queue } from './screens/queue.js';
import { Channels } from './screens/channels.js';
import { Users } from './screens/users.js';
import './app.css';

type Route = { screen: string; arg: string };
function parseHash(): Route {
  const [screen = 'lookup', ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  return { screen: screen || 'lookup', arg: decodeURIComponent(rest.join('/')) };
}

const SCREENS: Array<{ id: string; label: string; may: (u: User) => boolean }> = [
  { id: 'lookup', label: 'Stock', may: () => true },
  { id: 'queue', label: 'Queue', may: () => true },
  { id: 'correct', label: 'Correct', may: canCorrect },
  { id: 'count', label: 'Count', may: canCorrect },
  { id: 'channels', label: 'Channels', may: (u) => u.role === 'admin' },
  { id: 'users', label: 'Users', may: (u) => u.role === 'admin' },
];

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [bootError, setBootError] = useState<unknown>(null);
  const [online, setOnline] = useState(true);
  const [route, setRoute] = useState<Route>(parseHash());
  const [store, setStore] = useState<string>('');

  const signedIn = useCallback((s: Session) => {
    configureApi({ csrf: s.csrfToken });
    setSession(s);
    setStore((cur) => (cur && (s.user.locationIds.includes(cur) || s.user.role === 'admin') ? cur : s.user.locationIds[0] ?? ''));
  }, []);

  const loadSession = useCallback(() => {
    setBootError(null);
    api<Session>('GET', '/v1/session').then(signedIn, (e: unknown) => {
      if (e instanceof ApiError && e.status === 401) setSession(null);
      else setBootError(e);
    });
  }, [signedIn]);

  useEffect(() => {
    configureApi({ signedOut: () => setSession(null), reachability: setOnline });
    loadSession();
    const onHash = () => setRoute(parseHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, [loadSession]);

  useEffect(() => {
    const screen = SCREENS.find((s) => s.id === route.screen);
    document.title = `${screen?.label ?? 'omnistock'} · omnistock store`;
  }, [route.screen]);

  if (session === undefined) {
    return bootError
      ? html`<main class="narrow"><${ErrorBox} error=${bootError} /><button onClick=${loadSession}>Try again</button></main>`
      : html`<main class="narrow"><${Loading} what="your session" /></main>`;
  }
  if (session === null) return html`<${SignIn} onSignedIn=${signedIn} />`;

  const user = session.user;
  const allowed = SCREENS.filter((s) => s.may(user));
  const current = allowed.find((s) => s.id === route.screen) ?? allowed[0]!;
  const signOut = async () => {
    try { await api('DELETE', '/v1/session'); } catch { /* signed out locally either way */ }
    setSession(null);
  };
  const locations = user.locationIds;
  const screen = (() => {
    switch (current.id) {
      case 'queue': return html`<${Queue} store=${route.screen === 'queue' && route.arg ? route.arg : store} user=${user} />`;
      case 'correct': return html`<${Corrections} key=${route.arg} store=${store} user=${user} initialSku=${route.screen === 'correct' ? route.arg : ''} />`;
      case 'count': return html`<${CycleCount} store=${store} user=${user} />`;
      case 'channels': return html`<${Channels} />`;
      case 'users': return html`<${Users} />`;
      default: return html`<${Lookup} key=${route.arg} store=${store} user=${user} initialSku=${route.screen === 'lookup' ? route.arg : ''} />`;
    }
  })();
  return html`
    <header class="top">
      <div class="brand">omnistock</div>
      <nav aria-label="Screens">
        ${allowed.map((s) => html`<a href=${`#/${s.id}`} aria-current=${s.id === current.id ? 'page' : undefined}>${s.label}</a>`)}
      </nav>
      <div class="who">
        <label class="store-pick"><span class="sr-only">Store</span>
          ${locations.length > 1
            ? html`<select aria-label="Store" value=${store} onChange=${(e: Event) => setStore((e.target as HTMLSelectElement).value)}>
                ${locations.map((l) => html`<option value=${l}>${l}</option>`)}</select>`
            : html`<span aria-label="Store">${store}</span>`}
        </label>
        <span class="user" title=${`${user.name} (${user.role})`}>${user.name}</span>
        <button class="link" onClick=${signOut}>Sign out</button>
      </div>
    </header>
    ${online ? null : html`<div class="error offline banner" role="alert">⚠ The omnistock service cannot be reached. Figures on screen may be out of date.</div>`}
    <main id="main">${screen}</main>`;
}

const root = document.getElementById('root')!;
root.textContent = '';
render(html`<${App} />`, root);
