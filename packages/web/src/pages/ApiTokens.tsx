import { useState, type FormEvent } from 'react';
import { api, ApiError, messageOf } from '../api';
import { Badge, CopyValue, EmptyState, FieldError } from '../components/ui';
import { useApiData } from '../use-api-data';
import { ASSIGNABLE_ROLES, day, roleName, type ApiToken, type Role } from '../admin/types';

/**
 * API tokens for REST clients (IoT Central's Administration → API tokens). The
 * token text is shown once, right after it is created: the server keeps only a hash.
 */
export function ApiTokens() {
  const tokens = useApiData(
    () => api<{ value: ApiToken[] }>('GET', '/api/apiTokens').then((r) => r.value),
    'tokens',
  );
  const roles = useApiData(() => api<{ value: Role[] }>('GET', '/api/roles').then((r) => r.value), 'roles');
  const [created, setCreated] = useState<{ id: string; token: string } | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);

  const remove = async (id: string) => {
    setDeleteError(null);
    try {
      await api('DELETE', `/api/apiTokens/${encodeURIComponent(id)}`);
      await tokens.reload();
    } catch (err) {
      setDeleteError(messageOf(err));
    }
  };

  return (
    <section>
      <h1>API tokens</h1>
      {created !== null && (
        <div className="card token-once" role="region" aria-label="New API token">
          <h2>Token {created.id} created</h2>
          <p className="warning">
            Copy this token now: it is shown only once. Send it as the <code>Authorization</code> header.
          </p>
          <CopyValue value={created.token} testId="new-token" />
          <div className="row top-gap">
            <button type="button" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      <CreateTokenForm
        roles={roles.data ?? []}
        onCreated={async (id, token) => {
          setCreated({ id, token });
          await tokens.reload();
        }}
      />
      <h2>Tokens</h2>
      <FieldError error={tokens.error ?? deleteError} />
      {tokens.data !== undefined && tokens.data.length === 0 && (
        <EmptyState title="No API tokens yet">
          Create one above, then call the API with it, e.g.{' '}
          <code>curl -H "Authorization: &lt;token&gt;" http://localhost:8080/api/devices</code>.
        </EmptyState>
      )}
      {tokens.data !== undefined && tokens.data.length > 0 && (
        <div className="table-wrap">
          <table aria-label="API tokens">
            <thead>
              <tr>
                <th>ID</th>
                <th>Role</th>
                <th>Expires</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((t) => (
                <tr key={t.id}>
                  <td>{t.id}</td>
                  <td>{t.roles.map((r) => roleName(roles.data ?? [], r.role)).join(', ')}</td>
                  <td>
                    {day(t.expiry)} {Date.parse(t.expiry) < Date.now() && <Badge tone="bad">Expired</Badge>}
                  </td>
                  <td>
                    <button
                      type="button"
                      className="danger"
                      aria-label={`Delete token ${t.id}`}
                      onClick={() => void remove(t.id)}
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
    </section>
  );
}

function CreateTokenForm({
  roles,
  onCreated,
}: {
  roles: Role[];
  onCreated: (id: string, token: string) => Promise<void>;
}) {
  const choices = roles.filter((r) => ASSIGNABLE_ROLES.includes(r.displayName));
  const [id, setId] = useState('');
  const [role, setRole] = useState('');
  const [expiry, setExpiry] = useState('');
  const [idError, setIdError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const roleId = role || choices.find((r) => r.displayName === 'Operator')?.id || '';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setIdError(null);
    setError(null);
    setBusy(true);
    try {
      const body: Record<string, unknown> = { roles: [{ role: roleId }] };
      if (expiry !== '') body['expiry'] = new Date(`${expiry}T23:59:59Z`).toISOString();
      const r = await api<{ token: string }>('PUT', `/api/apiTokens/${encodeURIComponent(id)}`, body);
      setId('');
      setExpiry('');
      await onCreated(id, r.token);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'ERR_INVALID_ID') setIdError(messageOf(err));
      else setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" aria-label="Create API token" onSubmit={submit}>
      <h2>Create API token</h2>
      <div className="form-grid">
        <label>
          Token ID
          <input
            value={id}
            onChange={(e) => setId(e.target.value)}
            required
            placeholder="e.g. operator-token"
          />
          <FieldError error={idError} />
        </label>
        <label>
          Role
          <select value={roleId} onChange={(e) => setRole(e.target.value)}>
            {choices.map((r) => (
              <option key={r.id} value={r.id}>
                {r.displayName}
              </option>
            ))}
          </select>
        </label>
        <label>
          Expires (optional)
          <input type="date" value={expiry} onChange={(e) => setExpiry(e.target.value)} />
        </label>
      </div>
      <FieldError error={error} />
      <button type="submit" className="primary" disabled={busy || id === '' || roleId === ''}>
        Create token
      </button>
    </form>
  );
}
