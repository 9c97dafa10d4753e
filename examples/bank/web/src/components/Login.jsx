import { useState } from 'react';
import { api } from '../api.js';
import { setSession } from '../session.js';

const DEMO_LOGINS = [
  ['alice', 'wonderland'],
  ['bob', 'builder'],
];

export function Login() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { token, user } = await api('/api/login', { method: 'POST', body: { username, password } });
      setSession({ token, user });
    } catch (failure) {
      setError(failure.message);
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form className="card login-card" onSubmit={submit}>
        <h1>
          <span className="logo">◆</span> nudge bank
        </h1>
        <p className="muted">Live balances without polling: sockets notify, React Query fetches.</p>
        <label>
          Username
          <input name="username" value={username} onChange={(e) => setUsername(e.target.value)} autoFocus />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Log in
        </button>
        <div className="demo-logins">
          <span>Demo logins (click to fill in)</span>
          {DEMO_LOGINS.map(([user, pass]) => (
            <button
              type="button"
              className="link"
              key={user}
              onClick={() => {
                setUsername(user);
                setPassword(pass);
              }}
            >
              {user} / {pass}
            </button>
          ))}
        </div>
      </form>
    </main>
  );
}
