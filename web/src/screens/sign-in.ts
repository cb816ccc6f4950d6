import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import type { Session } from '../types.js';
import { ErrorBox, Field } from '../ui.js';

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [userId, setUserId] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!userId.trim() || !password) {
      setError(new Error('Enter your user name and password.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api<Session>('POST', '/v1/session', { userId: userId.trim(), password }));
    } catch (err) {
      setError(err);
      setPassword('');
    } finally {
      setBusy(false);
    }
  };

  return html`
    <main class="narrow signin">
      <h1>omnistock store</h1>
      <form onSubmit=${submit} aria-label="Sign in" novalidate>
        <${Field} label="User" id="signin-user">
          <input id="signin-user" name="username" autocomplete="username" autocapitalize="none" spellcheck=${false} autofocus
            value=${userId} onInput=${(e: Event) => setUserId((e.target as HTMLInputElement).value)} required />
        <//>
        <${Field} label="Password" id="signin-password">
          <input id="signin-password" type="password" name="password" autocomplete="current-password"
            value=${password} onInput=${(e: Event) => setPassword((e.target as HTMLInputElement).value)} required />
        <//>
        <${ErrorBox} error=${error} />
        <button type="submit" class="primary" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>`;
}
