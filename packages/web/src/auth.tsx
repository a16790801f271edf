import { createContext, useContext, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { api, ApiError, messageOf, onUnauthorized } from './api';

export interface SessionUser {
  id: string;
  username: string;
  /** Role IDs (the fixed GUIDs of GET /api/roles). */
  roles: string[];
}

interface AuthState {
  user: SessionUser;
  signOut(): Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

/** The signed-in user; only rendered inside {@link RequireSignIn}. */
export function useAuth(): AuthState {
  const auth = useContext(AuthContext);
  if (auth === null) throw new Error('useAuth outside RequireSignIn');
  return auth;
}

/** Renders the sign-in form until there is a valid session, then its children. */
export function RequireSignIn({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<SessionUser | null | undefined>(undefined);

  useEffect(() => {
    onUnauthorized(() => setUser(null));
    // The session cookie is HttpOnly: whether there is a session, only the server can say.
    api<{ user: SessionUser }>('GET', '/api/session')
      .then((s) => setUser(s.user))
      .catch(() => setUser(null));
  }, []);

  if (user === undefined) return <div className="loading">Loading…</div>;
  if (user === null) return <SignIn onSignedIn={setUser} />;
  const signOut = async () => {
    // Ends the session on the server and clears the cookie.
    await api('DELETE', '/api/session').catch(() => undefined);
    setUser(null);
  };
  return <AuthContext.Provider value={{ user, signOut }}>{children}</AuthContext.Provider>;
}

function SignIn({ onSignedIn }: { onSignedIn: (user: SessionUser) => void }) {
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // cookie: the server sets the session as an HttpOnly cookie and answers no token.
      const session = await api<{ user: SessionUser }>('POST', '/api/session', {
        username,
        password,
        cookie: true,
      });
      onSignedIn(session.user);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form onSubmit={submit} className="card signin-card" aria-label="Sign in">
        <h1>Gatehouse</h1>
        <p className="muted">
          Sign in as <code>admin</code> with the password <code>gatehouse serve</code> printed at its first
          start (or <code>GATEHOUSE_ADMIN_PASSWORD</code>).
        </p>
        <label>
          User name
          <input
            name="username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            autoComplete="username"
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="current-password"
            autoFocus
          />
        </label>
        {error !== null && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
