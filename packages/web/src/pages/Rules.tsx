import { useState, type FormEvent } from 'react';
import { api, messageOf } from '../api';
import { Badge, EmptyState, FieldError, ago } from '../components/ui';
import { Link, navigate } from '../router';
import { useApiData } from '../use-api-data';
import { RuleEditor, rulePath, type Rule, type RuleCondition } from './RulesEditor';

interface Firing {
  id: number;
  ruleId: string;
  deviceId: string;
  time: string;
  detail: {
    telemetry?: { component?: string; name: string; key: string; value: unknown }[];
    properties?: { name: string; value: unknown }[];
    disconnectedSince?: string;
  };
  actions: { id: string; type: string; outcome: string; error?: string }[];
}

function describe(c: RuleCondition): string {
  if (c.type === 'disconnected') return `disconnected for ${c.minutes} min`;
  const of = c.aggregation ? `${c.aggregation}(${c.capability})` : c.capability;
  return `${of} ${c.operator} ${c.cloudProperty !== undefined ? `cloud ${c.cloudProperty}` : JSON.stringify(c.value)}`;
}

function values(f: Firing): string {
  const parts = [
    ...(f.detail.telemetry ?? []).map(
      (t) => `${t.key === 'value' ? t.name : `${t.key}(${t.name})`} = ${JSON.stringify(t.value)}`,
    ),
    ...(f.detail.properties ?? []).map((p) => `${p.name} = ${JSON.stringify(p.value)}`),
    ...(f.detail.disconnectedSince !== undefined ? [`offline since ${f.detail.disconnectedSince}`] : []),
  ];
  return parts.join(', ');
}

/** Rules (docs/rules.md): the list, a New rule page, a page per rule with its editor and history. */
export function Rules() {
  const rules = useApiData(() => api<{ value: Rule[] }>('GET', '/api/rules').then((r) => r.value), 'rules');
  return (
    <section>
      <div className="page-header">
        <h1>Rules</h1>
        <button type="button" className="primary" onClick={() => navigate('/rules/new')}>
          New rule
        </button>
      </div>
      <FieldError error={rules.error} />
      {rules.data !== undefined && rules.data.length === 0 && (
        <EmptyState title="No rules yet">
          <p>
            A rule watches the devices of a template and calls a webhook or sends an e-mail when telemetry
            crosses a threshold, a property takes a value, or a device stays disconnected.
          </p>
        </EmptyState>
      )}
      {rules.data !== undefined && rules.data.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Rules">
            <thead>
              <tr>
                <th>Name</th>
                <th>Conditions</th>
                <th>Actions</th>
                <th>Status</th>
                <th>Last fired</th>
              </tr>
            </thead>
            <tbody>
              {rules.data.map((r) => (
                <tr key={r.id} data-testid={`rule-row-${r.id}`}>
                  <td>
                    <Link to={`/rules/${encodeURIComponent(r.id)}`}>{r.displayName}</Link>
                  </td>
                  <td>
                    {r.conditions.items.map(describe).join(r.conditions.match === 'all' ? ' and ' : ' or ')}
                  </td>
                  <td>{r.actions.map((a) => a.displayName ?? a.type).join(', ')}</td>
                  <td>
                    <Badge tone={r.enabled ? 'ok' : 'muted'}>{r.enabled ? 'Enabled' : 'Disabled'}</Badge>
                  </td>
                  <td>{r.lastFired ? ago(r.lastFired) : 'never'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <DeviceHistory />
    </section>
  );
}

/** The rules fired on one device (`GET /api/devices/{id}/ruleHistory`). */
function DeviceHistory() {
  const [deviceId, setDeviceId] = useState('');
  const [firings, setFirings] = useState<Firing[] | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const r = await api<{ value: Firing[] }>(
        'GET',
        `/api/devices/${encodeURIComponent(deviceId.trim())}/ruleHistory?maxpagesize=50`,
      );
      setFirings(r.value);
    } catch (err) {
      // An unknown device is an error, not a device no rule fired on.
      setFirings(undefined);
      setError(messageOf(err));
    }
  };
  return (
    <>
      <h2>Fired on a device</h2>
      <form onSubmit={submit} aria-label="Rules fired on a device" className="row">
        <label>
          Device ID
          <input value={deviceId} onChange={(e) => setDeviceId(e.target.value)} />
        </label>
        <button type="submit">Show</button>
      </form>
      <FieldError error={error} />
      {firings !== undefined && firings.length === 0 && (
        <p className="muted">No rule has fired on this device.</p>
      )}
      {firings !== undefined && firings.length > 0 && (
        <table aria-label="Device rule history">
          <thead>
            <tr>
              <th>Time</th>
              <th>Rule</th>
              <th>Values</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {firings.map((f) => (
              <tr key={f.id}>
                <td>{f.time}</td>
                <td>
                  <Link to={`/rules/${encodeURIComponent(f.ruleId)}`}>{f.ruleId}</Link>
                </td>
                <td>{values(f)}</td>
                <td>{outcomes(f)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function outcomes(f: Firing): string {
  return f.actions.map((a) => `${a.id}: ${a.outcome}${a.error ? ` (${a.error})` : ''}`).join('; ');
}

/** `/rules/new` and `/rules/:id`: the editor, the actions' counts and the fired history. */
export function RulePage({ id }: { id: string }) {
  const isNew = id === 'new';
  const rule = useApiData(
    () => (isNew ? Promise.resolve(undefined) : api<Rule>('GET', rulePath(id))),
    `rule-${id}`,
  );
  const history = useApiData(
    () =>
      isNew
        ? Promise.resolve([] as Firing[])
        : api<{ value: Firing[] }>('GET', `${rulePath(id)}/history?maxpagesize=50`).then((r) => r.value),
    `rule-history-${id}`,
  );
  const current = rule.data;
  return (
    <section>
      <div className="page-header">
        <h1>{isNew ? 'New rule' : (current?.displayName ?? id)}</h1>
        <Link to="/rules">All rules</Link>
      </div>
      <FieldError error={rule.error} />
      {(isNew || current !== undefined) && (
        <RuleEditor
          key={current?.etag ?? 'new'}
          {...(current !== undefined ? { rule: current } : {})}
          onSaved={(r) => {
            if (isNew) navigate(`/rules/${encodeURIComponent(r.id)}`);
            else rule.reload();
          }}
        />
      )}
      {current?.actionStatus !== undefined && (
        <table aria-label="Action status">
          <thead>
            <tr>
              <th>Action</th>
              <th>Sent</th>
              <th>Suppressed</th>
              <th>Failed</th>
              <th>Last error</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(current.actionStatus).map(([action, s]) => (
              <tr key={action} data-testid={`action-status-${action}`}>
                <td>{action}</td>
                <td>{s.sent}</td>
                <td>{s.suppressed}</td>
                <td>{s.failed}</td>
                <td>{s.lastError ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!isNew && (
        <>
          <h2>History</h2>
          <FieldError error={history.error} />
          {history.data !== undefined && history.data.length === 0 && (
            <p className="muted">This rule has not fired yet.</p>
          )}
          {history.data !== undefined && history.data.length > 0 && (
            <table aria-label="Rule history">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Device</th>
                  <th>Values</th>
                  <th>Actions</th>
                </tr>
              </thead>
              <tbody>
                {history.data.map((f) => (
                  <tr key={f.id} data-testid={`firing-${f.id}`}>
                    <td>{f.time}</td>
                    <td>
                      <Link to={`/devices/${encodeURIComponent(f.deviceId)}`}>{f.deviceId}</Link>
                    </td>
                    <td>{values(f)}</td>
                    <td>
                      {f.actions
                        .map((a) => `${a.id}: ${a.outcome}${a.error ? ` (${a.error})` : ''}`)
                        .join('; ')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
