/**
 * The login page, shown when the server asks for authentication (off loopback): a token field (the
 * operator or viewer token printed by `qkdnet up` or configured in a token file), and a note when a
 * client certificate would also do. The token goes only to this origin's `POST /api/login`; the session
 * then lives in an HttpOnly cookie the page cannot read.
 */
import { useState } from 'preact/hooks';
import type { SessionInfo } from './live.ts';

export function Login(props: { session: SessionInfo; login: (token: string) => Promise<string | null> }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const err = await props.login(token.trim());
    setBusy(false);
    setError(err);
    if (!err) setToken('');
  };
  const byToken = props.session.methods.includes('token');
  return (
    <div class="login">
      <h1>qkdnet</h1>
      <p>This dashboard needs a login.</p>
      {byToken && (
        <form onSubmit={(e) => void submit(e)} data-testid="login-form">
          <label>
            Token
            <input
              type="password"
              autocomplete="current-password"
              data-testid="login-token"
              value={token}
              onInput={(e) => setToken((e.target as HTMLInputElement).value)}
            />
          </label>
          <button type="submit" disabled={busy || token.trim() === ''} data-testid="login-submit">
            Log in
          </button>
        </form>
      )}
      {props.session.methods.includes('certificate') && (
        <p class="sub">
          Or present a client certificate issued by <code>qkdnet pki issue --kind operator</code> (or viewer)
          and reload.
        </p>
      )}
      {error && (
        <p class="msg error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
