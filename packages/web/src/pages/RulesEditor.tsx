import { useState, type FormEvent } from 'react';
import { ApiError, api, messageOf } from '../api';
import type { DeviceTemplate } from '../devices/types';
import { idFrom } from '../jobs/types';
import { useApiData } from '../use-api-data';

/** A rule as `/api/rules` answers (docs/rules.md). */
export interface RuleCondition {
  type?: 'telemetry' | 'property' | 'disconnected';
  capability?: string;
  operator?: string;
  value?: string | number | boolean;
  cloudProperty?: string;
  aggregation?: string;
  minutes?: number;
}
export interface RuleAction {
  id?: string;
  type: 'webhook' | 'email';
  displayName?: string;
  url?: string;
  to?: string[];
  note?: string;
}
export interface Rule {
  id: string;
  displayName: string;
  enabled: boolean;
  target: { template: string; filter?: string };
  conditions: { match: 'all' | 'any'; aggregationWindow?: string; items: RuleCondition[] };
  actions: RuleAction[];
  etag?: string;
  lastFired?: string;
  actionStatus?: Record<string, { sent: number; suppressed: number; failed: number; lastError?: string }>;
}

export const rulePath = (id: string) => `/api/rules/${encodeURIComponent(id)}`;

const OPERATORS = ['>', '>=', '<', '<=', '==', '!=', 'contains'];
const WINDOWS = ['PT5M', 'PT10M', 'PT15M', 'PT30M', 'PT1H'];
const AGGREGATIONS = ['avg', 'min', 'max', 'sum', 'count'];

/** What the user typed as a threshold: a number, true/false, or text. */
function literal(text: string): string | number | boolean {
  const t = text.trim();
  if (t === 'true' || t === 'false') return t === 'true';
  if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  return text;
}

/** The field a refusal names first (`conditions.items[0].value: …`), and the rest. */
function fieldOf(err: unknown): { field?: string; message: string } {
  const message = messageOf(err);
  if (err instanceof ApiError) {
    const m = /^([A-Za-z][\w.[\]]*): (.*)$/s.exec(err.message);
    if (m) return { field: m[1]!, message: `${err.code}: ${err.message}` };
  }
  return { message };
}

function FieldMessage({
  field,
  error,
}: {
  field: string;
  error: { field?: string; message: string } | null;
}) {
  if (!error || error.field === undefined) return null;
  // An error about `actions` shows beside the actions; one about `actions[0].url` beside that URL.
  if (error.field !== field) return null;
  return (
    <span className="error" role="alert" data-field={field}>
      {error.message}
    </span>
  );
}

/**
 * The rule editor: target, conditions (telemetry, property or disconnected), all/any, a window,
 * and the actions. The server checks everything; its refusal is shown beside the field it names.
 */
export function RuleEditor({ rule, onSaved }: { rule?: Rule; onSaved: (r: Rule) => void }) {
  const templates = useApiData(
    () => api<{ value: DeviceTemplate[] }>('GET', '/api/deviceTemplates').then((r) => r.value),
    'templates',
  );
  const [name, setName] = useState(rule?.displayName ?? '');
  const [enabled, setEnabled] = useState(rule?.enabled ?? true);
  const [template, setTemplate] = useState(rule?.target.template ?? '');
  const [filter, setFilter] = useState(rule?.target.filter ?? '');
  const [match, setMatch] = useState<'all' | 'any'>(rule?.conditions.match ?? 'all');
  const [window, setWindow] = useState(rule?.conditions.aggregationWindow ?? '');
  const [items, setItems] = useState<RuleCondition[]>(
    rule?.conditions.items ?? [{ type: 'telemetry', capability: '', operator: '>', value: '' }],
  );
  const [actions, setActions] = useState<RuleAction[]>(rule?.actions ?? []);
  const [error, setError] = useState<{ field?: string; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const summary = templates.data?.find((t) => t['@id'] === template)?.summary;

  const setItem = (i: number, change: Partial<RuleCondition>) =>
    setItems(items.map((c, j) => (j === i ? { ...c, ...change } : c)));
  const setAction = (i: number, change: Partial<RuleAction>) =>
    setActions(actions.map((a, j) => (j === i ? { ...a, ...change } : a)));

  const body = () => ({
    displayName: name.trim(),
    enabled,
    target: { template, ...(filter.trim() !== '' ? { filter } : {}) },
    conditions: {
      match,
      ...(window !== '' ? { aggregationWindow: window } : {}),
      items: items.map((c) =>
        c.type === 'disconnected'
          ? { type: 'disconnected', minutes: Number(c.minutes ?? 0) }
          : {
              type: c.type ?? 'telemetry',
              capability: c.capability,
              operator: c.operator,
              ...(c.cloudProperty
                ? { cloudProperty: c.cloudProperty }
                : { value: literal(String(c.value ?? '')) }),
              ...(window !== '' && c.type !== 'property' ? { aggregation: c.aggregation ?? 'avg' } : {}),
            },
      ),
    },
    actions: actions.map((a) => ({
      ...(a.id !== undefined ? { id: a.id } : {}),
      type: a.type,
      displayName: a.displayName || (a.type === 'webhook' ? 'Webhook' : 'E-mail'),
      ...(a.type === 'webhook'
        ? { url: a.url ?? '' }
        : { to: a.to ?? [], ...(a.note ? { note: a.note } : {}) }),
    })),
  });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (name.trim() === '') {
      setError({ field: 'displayName', message: 'A name is required.' });
      return;
    }
    setBusy(true);
    try {
      const id = rule?.id ?? idFrom(name);
      onSaved(await api<Rule>('PUT', rulePath(id), body()));
    } catch (err) {
      setError(fieldOf(err));
    } finally {
      setBusy(false);
    }
  };

  const capabilities = (type: RuleCondition['type']) =>
    type === 'property' ? (summary?.properties ?? []).filter((p) => !p.cloud) : (summary?.telemetry ?? []);
  const name_ = (c: { name: string; component?: string }) =>
    c.component ? `${c.component}.${c.name}` : c.name;

  return (
    <form onSubmit={submit} aria-label={rule ? 'Edit rule' : 'New rule'} className="rule-editor">
      <label>
        Name
        <input name="displayName" value={name} onChange={(e) => setName(e.target.value)} />
        <FieldMessage field="displayName" error={error} />
      </label>
      <label className="inline">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
      </label>
      <label>
        Device template
        <select value={template} onChange={(e) => setTemplate(e.target.value)}>
          <option value="">Choose a template…</option>
          {(templates.data ?? []).map((t) => (
            <option key={t['@id']} value={t['@id']}>
              {t.displayName}
            </option>
          ))}
        </select>
        <FieldMessage field="target.template" error={error} />
      </label>
      <label>
        Device filter (optional)
        <input
          value={filter}
          placeholder="SELECT * FROM devices WHERE $simulated = false"
          onChange={(e) => setFilter(e.target.value)}
        />
        <FieldMessage field="target.filter" error={error} />
      </label>
      <fieldset>
        <legend>Conditions</legend>
        <div className="row">
          <label>
            Match
            <select value={match} onChange={(e) => setMatch(e.target.value as 'all' | 'any')}>
              <option value="all">All conditions</option>
              <option value="any">Any condition</option>
            </select>
          </label>
          <label>
            Time aggregation
            <select value={window} onChange={(e) => setWindow(e.target.value)}>
              <option value="">None: every message</option>
              {WINDOWS.map((w) => (
                <option key={w} value={w}>
                  {w.replace('PT', '').toLowerCase()}
                </option>
              ))}
            </select>
            <FieldMessage field="conditions.aggregationWindow" error={error} />
          </label>
        </div>
        {items.map((c, i) => {
          const f = `conditions.items[${i}]`;
          return (
            <div className="row" key={i} role="group" aria-label={`Condition ${i + 1}`}>
              <label>
                Type
                <select
                  value={c.type ?? 'telemetry'}
                  onChange={(e) => setItem(i, { type: e.target.value as RuleCondition['type'] })}
                >
                  <option value="telemetry">Telemetry</option>
                  <option value="property">Property</option>
                  <option value="disconnected">Disconnected for</option>
                </select>
                <FieldMessage field={`${f}.type`} error={error} />
              </label>
              {c.type === 'disconnected' ? (
                <label>
                  Minutes
                  <input
                    value={String(c.minutes ?? '')}
                    inputMode="numeric"
                    onChange={(e) => setItem(i, { minutes: Number(e.target.value) })}
                  />
                  <FieldMessage field={`${f}.minutes`} error={error} />
                </label>
              ) : (
                <>
                  <label>
                    Capability
                    <input
                      list={`capabilities-${i}`}
                      value={c.capability ?? ''}
                      onChange={(e) => setItem(i, { capability: e.target.value })}
                    />
                    <datalist id={`capabilities-${i}`}>
                      {capabilities(c.type).map((t) => (
                        <option key={name_(t)} value={name_(t)}>
                          {t.displayName}
                        </option>
                      ))}
                    </datalist>
                    <FieldMessage field={`${f}.capability`} error={error} />
                  </label>
                  {window !== '' && c.type !== 'property' && (
                    <label>
                      Aggregation
                      <select
                        value={c.aggregation ?? 'avg'}
                        onChange={(e) => setItem(i, { aggregation: e.target.value })}
                      >
                        {AGGREGATIONS.map((a) => (
                          <option key={a}>{a}</option>
                        ))}
                      </select>
                      <FieldMessage field={`${f}.aggregation`} error={error} />
                    </label>
                  )}
                  <label>
                    Operator
                    <select
                      value={c.operator ?? '>'}
                      onChange={(e) => setItem(i, { operator: e.target.value })}
                    >
                      {OPERATORS.map((o) => (
                        <option key={o}>{o}</option>
                      ))}
                    </select>
                    <FieldMessage field={`${f}.operator`} error={error} />
                  </label>
                  <label>
                    Value
                    <input
                      value={String(c.value ?? '')}
                      onChange={(e) => setItem(i, { value: e.target.value })}
                    />
                    <FieldMessage field={`${f}.value`} error={error} />
                  </label>
                </>
              )}
              {items.length > 1 && (
                <button type="button" onClick={() => setItems(items.filter((_, j) => j !== i))}>
                  Remove condition
                </button>
              )}
            </div>
          );
        })}
        <button
          type="button"
          onClick={() =>
            setItems([...items, { type: items[0]?.type ?? 'telemetry', operator: '>', value: '' }])
          }
        >
          Add condition
        </button>
      </fieldset>
      <fieldset>
        <legend>Actions</legend>
        <FieldMessage field="actions" error={error} />
        {actions.map((a, i) => {
          const f = `actions[${i}]`;
          return (
            <div className="row" key={i} role="group" aria-label={`Action ${i + 1}`}>
              <label>
                Action
                <select
                  value={a.type}
                  onChange={(e) => setAction(i, { type: e.target.value as RuleAction['type'] })}
                >
                  <option value="webhook">Webhook</option>
                  <option value="email">E-mail</option>
                </select>
                <FieldMessage field={`${f}.type`} error={error} />
              </label>
              <label>
                Action name
                <input
                  value={a.displayName ?? ''}
                  onChange={(e) => setAction(i, { displayName: e.target.value })}
                />
              </label>
              {a.type === 'webhook' ? (
                <label>
                  Callback URL
                  <input value={a.url ?? ''} onChange={(e) => setAction(i, { url: e.target.value })} />
                  <FieldMessage field={`${f}.url`} error={error} />
                </label>
              ) : (
                <label>
                  Recipients (comma-separated)
                  <input
                    value={(a.to ?? []).join(', ')}
                    onChange={(e) =>
                      setAction(i, {
                        to: e.target.value
                          .split(',')
                          .map((s) => s.trim())
                          .filter((s) => s !== ''),
                      })
                    }
                  />
                  <FieldMessage field={`${f}.to`} error={error} />
                  {(a.to ?? []).map((_, j) => (
                    <FieldMessage key={j} field={`${f}.to[${j}]`} error={error} />
                  ))}
                </label>
              )}
              <button type="button" onClick={() => setActions(actions.filter((_, j) => j !== i))}>
                Remove action
              </button>
            </div>
          );
        })}
        <button
          type="button"
          onClick={() => setActions([...actions, { type: 'webhook', displayName: '', url: '' }])}
        >
          Add action
        </button>
      </fieldset>
      {error && error.field === undefined && (
        <p className="error" role="alert">
          {error.message}
        </p>
      )}
      {error && error.field !== undefined && (
        <p className="error" role="status">
          Not saved: correct the field marked above.
        </p>
      )}
      <button type="submit" className="primary" disabled={busy}>
        Save
      </button>
    </form>
  );
}
