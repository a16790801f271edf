import { useEffect, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api';
import { Badge, EmptyState, FieldError, ListTable } from '../components/ui';

/** One entry of `GET /api/auditLogs` (docs/audit.md). */
export interface AuditEntry {
  id: number;
  time: string;
  actor: { type: 'user' | 'apiToken'; id: string; name?: string };
  action: string;
  resource: { type: string; id?: string; displayName?: string };
  method: string;
  path: string;
  status: number;
  before?: unknown;
  after?: unknown;
}

interface Filters {
  actor: string;
  resourceType: string;
  resourceId: string;
  action: string;
  from: string;
  to: string;
}

const EMPTY: Filters = { actor: '', resourceType: '', resourceId: '', action: '', from: '', to: '' };
const ACTIONS = ['created', 'updated', 'deleted', 'invoked', 'signedIn', 'signedOut'];
const RESOURCE_TYPES = [
  'device',
  'deviceTemplate',
  'deviceGroup',
  'enrollmentGroup',
  'job',
  'scheduledJob',
  'dashboard',
  'user',
  'apiToken',
  'session',
  'import',
];
const PAGE = 25;

/** The query of one page: the filters that are set, in the API's names. */
function queryOf(filters: Filters): string {
  const q = new URLSearchParams();
  for (const key of ['actor', 'resourceType', 'resourceId', 'action'] as const)
    if (filters[key].trim() !== '') q.set(key, filters[key].trim());
  // datetime-local has no zone: it is the browser's local time.
  if (filters.from !== '') q.set('from', new Date(filters.from).toISOString());
  if (filters.to !== '') q.set('to', new Date(filters.to).toISOString());
  q.set('$top', String(PAGE));
  return q.toString();
}

/** The top-level fields whose values differ (etag aside): what an update changed. */
function changed(before: unknown, after: unknown): string[] {
  if (typeof before !== 'object' || before === null || typeof after !== 'object' || after === null) return [];
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  return [...new Set([...Object.keys(b), ...Object.keys(a)])]
    .filter((k) => k !== 'etag' && JSON.stringify(b[k]) !== JSON.stringify(a[k]))
    .sort();
}

function tone(action: string): 'ok' | 'bad' | 'info' | 'muted' | 'warn' {
  if (action === 'created') return 'ok';
  if (action === 'deleted') return 'bad';
  if (action === 'updated') return 'info';
  return 'muted';
}

/**
 * Administration → Audit log: who changed what and when, newest first, with filters and the
 * object before and after each change (secrets are never stored: they read `[redacted]`).
 */
export function AuditLog() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [entries, setEntries] = useState<AuditEntry[] | undefined>(undefined);
  const [next, setNext] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = async (path: string, append: boolean) => {
    setBusy(true);
    setError(null);
    try {
      const page = await api<{ value: AuditEntry[]; nextLink?: string }>('GET', path);
      setEntries((old) => (append && old ? [...old, ...page.value] : page.value));
      // nextLink is absolute; the app calls its own origin.
      setNext(
        page.nextLink !== undefined
          ? new URL(page.nextLink).pathname + new URL(page.nextLink).search
          : undefined,
      );
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  // The newest page when the page opens.
  useEffect(() => {
    void load(`/api/auditLogs?${queryOf(EMPTY)}`, false);
  }, []);
  const apply = (e: FormEvent) => {
    e.preventDefault();
    void load(`/api/auditLogs?${queryOf(draft)}`, false);
  };
  const set = (key: keyof Filters) => (e: { target: { value: string } }) =>
    setDraft((d) => ({ ...d, [key]: e.target.value }));

  return (
    <section>
      <h1>Audit log</h1>
      <p className="muted">
        Every change made in this UI or through the REST API, and every sign-in and sign-out, newest first.
      </p>
      <form className="card" aria-label="Audit log filters" onSubmit={apply}>
        <div className="form-grid">
          <label>
            Actor
            <input value={draft.actor} onChange={set('actor')} placeholder="user name or token id" />
          </label>
          <label>
            Resource type
            <select value={draft.resourceType} onChange={set('resourceType')}>
              <option value="">Any</option>
              {RESOURCE_TYPES.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
          <label>
            Resource ID
            <input value={draft.resourceId} onChange={set('resourceId')} />
          </label>
          <label>
            Action
            <select value={draft.action} onChange={set('action')}>
              <option value="">Any</option>
              {ACTIONS.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </label>
          <label>
            From
            <input type="datetime-local" value={draft.from} onChange={set('from')} />
          </label>
          <label>
            To
            <input type="datetime-local" value={draft.to} onChange={set('to')} />
          </label>
        </div>
        <div className="row">
          <button type="submit" className="primary" disabled={busy}>
            Apply filters
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(EMPTY);
              void load(`/api/auditLogs?${queryOf(EMPTY)}`, false);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <FieldError error={error} />
      <ListTable
        label="Audit log"
        rows={entries}
        columns={['Time', 'Actor', 'Action', 'Resource', 'Before / after']}
        empty={<EmptyState title="No changes">Nothing matches these filters.</EmptyState>}
      >
        {(e) => (
          <tr key={e.id} data-testid={`audit-${e.id}`}>
            <td>{new Date(e.time).toLocaleString()}</td>
            <td>
              {e.actor.name ?? e.actor.id}
              <div className="muted small">{e.actor.type === 'apiToken' ? 'API token' : 'User'}</div>
            </td>
            <td>
              <Badge tone={tone(e.action)}>{e.action}</Badge>
            </td>
            <td>
              {e.resource.displayName ?? e.resource.id ?? ''}
              <div className="muted small">
                {e.resource.type}
                {e.resource.id !== undefined && e.resource.displayName !== undefined && ` · ${e.resource.id}`}
              </div>
              <div className="muted small">
                <code>
                  {e.method} {e.path}
                </code>
              </div>
            </td>
            <td>
              {e.before === undefined && e.after === undefined ? (
                <span className="muted">—</span>
              ) : (
                <details>
                  <summary>
                    Show
                    {changed(e.before, e.after).length > 0 && (
                      <span className="muted small"> · changed: {changed(e.before, e.after).join(', ')}</span>
                    )}
                  </summary>
                  <div className="audit-diff">
                    <Snapshot label="Before" value={e.before} />
                    <Snapshot label="After" value={e.after} />
                  </div>
                </details>
              )}
            </td>
          </tr>
        )}
      </ListTable>
      {next !== undefined && (
        <button type="button" disabled={busy} onClick={() => void load(next, true)}>
          Older entries
        </button>
      )}
    </section>
  );
}

function Snapshot({ label, value }: { label: string; value: unknown }) {
  return (
    <div>
      <div className="muted small">{label}</div>
      <pre aria-label={label}>{value === undefined ? '—' : JSON.stringify(value, null, 2)}</pre>
    </div>
  );
}
