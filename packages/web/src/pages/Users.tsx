import { useState, type FormEvent } from 'react';
import { api, ApiError, messageOf } from '../api';
import { useAuth } from '../auth';
import { Badge, EmptyState, FieldError } from '../components/ui';
import { useApiData } from '../use-api-data';
import { ASSIGNABLE_ROLES, roleName, type Role, type User } from '../admin/types';

/** Which field of a form a server refusal is about, from its code and the field it names. */
function fieldOf(err: unknown, fields: Record<string, RegExp>): string {
  if (!(err instanceof ApiError)) return 'form';
  for (const [field, pattern] of Object.entries(fields)) {
    if (pattern.test(err.code) || pattern.test(err.message)) return field;
  }
  return 'form';
}

/**
 * Users of the web UI (Administration → Users): who may sign in and with which
 * role; and, for everyone, a form to change their own password.
 */
export function Users() {
  const { user: me } = useAuth();
  const users = useApiData(() => api<{ value: User[] }>('GET', '/api/users').then((r) => r.value), 'users');
  const roles = useApiData(() => api<{ value: Role[] }>('GET', '/api/roles').then((r) => r.value), 'roles');
  const [rowError, setRowError] = useState<{ id: string; message: string } | null>(null);
  const choices = (roles.data ?? []).filter((r) => ASSIGNABLE_ROLES.includes(r.displayName));

  const changeRole = async (u: User, role: string) => {
    setRowError(null);
    try {
      await api('PATCH', `/api/users/${encodeURIComponent(u.id)}`, { roles: [{ role }] });
      await users.reload();
    } catch (err) {
      setRowError({ id: u.id, message: messageOf(err) });
    }
  };
  // Disabling ends the user's sessions at once (their open pages go back to sign-in).
  const setDisabled = async (u: User, disabled: boolean) => {
    setRowError(null);
    try {
      await api('PATCH', `/api/users/${encodeURIComponent(u.id)}`, { disabled });
      await users.reload();
    } catch (err) {
      setRowError({ id: u.id, message: messageOf(err) });
    }
  };
  const remove = async (u: User) => {
    setRowError(null);
    try {
      await api('DELETE', `/api/users/${encodeURIComponent(u.id)}`);
      await users.reload();
    } catch (err) {
      setRowError({ id: u.id, message: messageOf(err) });
    }
  };

  return (
    <section>
      <h1>Users</h1>
      {users.error !== null && (
        <div className="card">
          <h2>User management</h2>
          <FieldError error={users.error} />
          <p className="muted">Only an Administrator can list, add and change users.</p>
        </div>
      )}
      {users.data !== undefined && (
        <>
          <AddUserForm roles={choices} onAdded={users.reload} />
          {users.data.length === 0 ? (
            <EmptyState title="No users yet">
              Add one above: they sign in with their e-mail and password.
            </EmptyState>
          ) : (
            <div className="table-wrap">
              <table aria-label="Users">
                <thead>
                  <tr>
                    <th>User</th>
                    <th>Role</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {users.data.map((u) => (
                    <tr key={u.id}>
                      <td>
                        {u.username} {u.id === me.id && <Badge tone="info">You</Badge>}
                        {u.disabled && <Badge tone="bad">Disabled</Badge>}
                        {u.email !== u.username && <div className="muted small">{u.email}</div>}
                      </td>
                      <td>
                        <select
                          aria-label={`Role of ${u.username}`}
                          value={u.roles[0]?.role ?? ''}
                          onChange={(e) => void changeRole(u, e.target.value)}
                        >
                          {u.roles[0] !== undefined && !choices.some((r) => r.id === u.roles[0]!.role) && (
                            <option value={u.roles[0].role}>
                              {roleName(roles.data ?? [], u.roles[0].role)}
                            </option>
                          )}
                          {choices.map((r) => (
                            <option key={r.id} value={r.id}>
                              {r.displayName}
                            </option>
                          ))}
                        </select>
                        {rowError?.id === u.id && <FieldError error={rowError.message} />}
                      </td>
                      <td>
                        <button
                          type="button"
                          aria-label={`${u.disabled ? 'Enable' : 'Disable'} user ${u.username}`}
                          onClick={() => void setDisabled(u, !u.disabled)}
                        >
                          {u.disabled ? 'Enable' : 'Disable'}
                        </button>{' '}
                        <button
                          type="button"
                          className="danger"
                          aria-label={`Delete user ${u.username}`}
                          onClick={() => void remove(u)}
                        >
                          Delete
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
      <ChangePasswordForm />
    </section>
  );
}

function AddUserForm({ roles, onAdded }: { roles: Role[]; onAdded: () => Promise<void> }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const roleId = role || roles.find((r) => r.displayName === 'Operator')?.id || '';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setBusy(true);
    // The ID is made from the e-mail address; people sign in with the address itself.
    const id = email
      .trim()
      .replace(/[^a-zA-Z0-9._-]+/g, '-')
      .replace(/^[^a-zA-Z0-9]+/, '')
      .slice(0, 64);
    try {
      await api('PUT', `/api/users/${encodeURIComponent(id || 'user')}`, {
        type: 'email',
        email: email.trim(),
        roles: [{ role: roleId }],
        password,
      });
      setEmail('');
      setPassword('');
      await onAdded();
    } catch (err) {
      const field = fieldOf(err, {
        password: /PASSWORD|'password'/,
        email: /'email'|'username'|USERNAME|ERR_INVALID_ID/,
        role: /ROLE|'roles'/,
      });
      setErrors({ [field]: messageOf(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" aria-label="Add user" onSubmit={submit}>
      <h2>Add user</h2>
      <div className="form-grid">
        <label>
          E-mail (user name)
          <input value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" required />
          <FieldError error={errors['email']} />
        </label>
        <label>
          Password
          <input
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="new-password"
            required
          />
          <FieldError error={errors['password']} />
        </label>
        <label>
          Role
          <select value={roleId} onChange={(e) => setRole(e.target.value)}>
            {roles.map((r) => (
              <option key={r.id} value={r.id}>
                {r.displayName}
              </option>
            ))}
          </select>
          <FieldError error={errors['role']} />
        </label>
      </div>
      <FieldError error={errors['form']} />
      <button type="submit" className="primary" disabled={busy || roleId === ''}>
        Add user
      </button>
    </form>
  );
}

function ChangePasswordForm() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [done, setDone] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setDone(false);
    try {
      await api('POST', '/api/session/password', { currentPassword: current, newPassword: next });
      setCurrent('');
      setNext('');
      setDone(true);
    } catch (err) {
      const field = fieldOf(err, { current: /CURRENT|'currentPassword'/, next: /WEAK|'newPassword'/ });
      setErrors({ [field]: messageOf(err) });
    }
  };

  return (
    <form className="card" aria-label="Change my password" onSubmit={submit}>
      <h2>Change my password</h2>
      <div className="form-grid">
        <label>
          Current password
          <input
            type="password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
            autoComplete="current-password"
            required
          />
          <FieldError error={errors['current']} />
        </label>
        <label>
          New password
          <input
            type="password"
            value={next}
            onChange={(e) => setNext(e.target.value)}
            autoComplete="new-password"
            required
          />
          <FieldError error={errors['next']} />
        </label>
      </div>
      <FieldError error={errors['form']} />
      {done && (
        <p role="status" className="ok">
          Password changed. Your other sessions have ended.
        </p>
      )}
      <button type="submit">Change password</button>
    </form>
  );
}
