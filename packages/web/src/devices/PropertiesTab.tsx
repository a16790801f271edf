import { useEffect, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api';
import { Badge, EmptyState, FieldError, ago } from '../components/ui';
import { show, unitLabel } from './telemetry';
import { syncState } from './sync-state';
import {
  devicePath,
  type DeviceTemplate,
  type PropertiesView,
  type PropertyInfo,
  type PropertyMetadata,
} from './types';

/**
 * The Properties view: the values the device reported (with `$metadata`), and a form for the
 * template's writable properties whose inputs follow the schema (number, toggle, text, enum).
 * Each writable property shows its sync state from the device's acknowledgement
 * (CENTRAL_API.md §5.3: `ac` 200 synced, 201–203 pending, 4xx/5xx error with `ad`).
 * A template with components gets one section per component, read and written through
 * `/components/{name}/properties`. `tick` changes when a reportedProperties/desiredProperties
 * event arrives: the view reloads.
 */
export function PropertiesTab({
  deviceId,
  template,
  tick,
}: {
  deviceId: string;
  template: DeviceTemplate | null | undefined;
  tick: number;
}) {
  const props = template?.summary.properties ?? [];
  const components = [...new Set(props.flatMap((p) => (p.component === undefined ? [] : [p.component])))];
  return (
    <div className="properties">
      {template === null && (
        <p className="note" role="note">
          No template: assign one to name and type its fields. Writable properties come from the template.
        </p>
      )}
      <PropertiesSection
        deviceId={deviceId}
        properties={props.filter((p) => p.component === undefined)}
        components={components}
        hasTemplate={Boolean(template)}
        tick={tick}
      />
      {components.map((c) => (
        <PropertiesSection
          key={c}
          deviceId={deviceId}
          component={c}
          properties={props.filter((p) => p.component === c)}
          components={[]}
          hasTemplate
          tick={tick}
        />
      ))}
    </div>
  );
}

/** One part of the twin: the root (`component` undefined) or one component's properties. */
function PropertiesSection({
  deviceId,
  component,
  properties: props,
  components,
  hasTemplate,
  tick,
}: {
  deviceId: string;
  component?: string;
  properties: PropertyInfo[];
  /** Component names, left out of the root's reported table (each has its own section). */
  components: string[];
  hasTemplate: boolean;
  tick: number;
}) {
  const [view, setView] = useState<PropertiesView | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const path =
    component === undefined ? '/properties' : `/components/${encodeURIComponent(component)}/properties`;
  const prefix = component === undefined ? '' : `${component}-`;

  useEffect(() => {
    let cancelled = false;
    api<PropertiesView>('GET', devicePath(deviceId, path))
      .then((v) => {
        if (!cancelled) {
          setView(v);
          setError(null);
        }
      })
      .catch((err: unknown) => !cancelled && setError(messageOf(err)));
    return () => {
      cancelled = true;
    };
  }, [deviceId, path, tick]);

  const metadata = view?.$metadata ?? {};
  const writable = props.filter((p) => p.writable && p.cloud === undefined);
  const known = new Map(props.map((p) => [p.name, p]));
  const reported = Object.entries(view ?? {}).filter(
    ([name]) => name !== '$metadata' && !components.includes(name) && !writable.some((w) => w.name === name),
  );
  // Read-only template properties the device has not reported yet are listed too.
  const missing = props.filter((p) => !p.writable && !reported.some(([name]) => name === p.name));
  const where = component === undefined ? '' : ` (component ${component})`;

  return (
    <section aria-label={component === undefined ? 'Device properties' : `Component ${component}`}>
      {component !== undefined && <h2 className="component-title">Component {component}</h2>}
      <FieldError error={error} />
      {writable.length > 0 && view !== undefined && (
        <WritableForm
          deviceId={deviceId}
          path={path}
          prefix={prefix}
          title={`Writable properties${where}`}
          properties={writable}
          view={view}
          metadata={metadata}
          onSaved={(v) => setView(v)}
        />
      )}
      <section className="card" aria-label={`Reported properties${where}`}>
        <h2>Reported by the device{where}</h2>
        {reported.length === 0 && missing.length === 0 ? (
          <EmptyState title="Nothing reported yet">
            The device reports its properties after it connects (a reported-properties patch on the twin
            {component === undefined ? '' : `, inside "${component}": { "__t": "c", … }`}).
          </EmptyState>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Property</th>
                  <th>Value</th>
                  <th>Updated</th>
                </tr>
              </thead>
              <tbody>
                {reported.map(([name, value]) => {
                  const info = known.get(name);
                  return (
                    <tr key={name}>
                      <td>
                        {info?.displayName ?? name}
                        {info === undefined && hasTemplate && (
                          <span className="muted"> (not in the template)</span>
                        )}
                      </td>
                      <td data-testid={`reported-${prefix}${name}`}>
                        <code>{show(value)}</code>
                        {info?.unit !== undefined && <span className="muted"> {unitLabel(info.unit)}</span>}
                      </td>
                      <td>{ago(metadata[name]?.lastUpdateTime)}</td>
                    </tr>
                  );
                })}
                {missing.map((p) => (
                  <tr key={p.name}>
                    <td>{p.displayName}</td>
                    <td className="muted">not reported</td>
                    <td />
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </section>
  );
}

function schemaName(schema: unknown): string {
  if (typeof schema === 'string') return schema;
  if (schema !== null && typeof schema === 'object') {
    const type = (schema as { '@type'?: unknown })['@type'];
    return Array.isArray(type) ? String(type[0]) : String(type);
  }
  return 'unknown';
}

interface EnumValue {
  name: string;
  displayName?: unknown;
  enumValue: string | number;
}

function enumValues(schema: unknown): EnumValue[] | undefined {
  if (schemaName(schema) !== 'Enum') return undefined;
  const values = (schema as { enumValues?: EnumValue[] }).enumValues;
  return Array.isArray(values) ? values : [];
}

const NUMBER_SCHEMAS = new Set(['double', 'float', 'integer', 'long']);

/** The input text of a value, per schema. */
function toText(value: unknown, schema: unknown): string {
  if (value === undefined || value === null) return '';
  const name = schemaName(schema);
  if (name === 'boolean') return value === true ? 'true' : 'false';
  if (typeof value === 'string' && !['Object', 'Map'].includes(name)) return value;
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value);
}

/**
 * The text of an input turned into the value sent. Numbers stay numbers (the server checks
 * "whole number" and ranges against the template and answers beside the field); text that is
 * not a number is sent as typed, so the server's message names the mistake.
 */
function fromText(text: string, schema: unknown): unknown {
  const name = schemaName(schema);
  if (name === 'boolean') return text === 'true';
  if (NUMBER_SCHEMAS.has(name)) {
    const n = Number(text);
    return text.trim() !== '' && Number.isFinite(n) ? n : text;
  }
  const values = enumValues(schema);
  if (values) return values.find((v) => String(v.enumValue) === text)?.enumValue ?? text;
  if (name === 'Object' || name === 'Map' || name === 'geopoint' || name === 'vector') {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function WritableForm({
  deviceId,
  path,
  prefix,
  title,
  properties,
  view,
  metadata,
  onSaved,
}: {
  deviceId: string;
  /** `/properties` or `/components/{name}/properties`. */
  path: string;
  /** Prefix of the test IDs and input IDs: '' at the root, `{component}-` in a component. */
  prefix: string;
  title: string;
  properties: PropertyInfo[];
  view: PropertiesView;
  metadata: Record<string, PropertyMetadata>;
  onSaved: (v: PropertiesView) => void;
}) {
  const initial = (p: PropertyInfo) => toText(metadata[p.name]?.desiredValue ?? view[p.name], p.schema);
  const [texts, setTexts] = useState<Record<string, string>>(() =>
    Object.fromEntries(properties.map((p) => [p.name, initial(p)])),
  );
  const [dirty, setDirty] = useState<Set<string>>(new Set());
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);

  // Values that changed on the server (another operator, or a device ack) refresh fields not being edited.
  useEffect(() => {
    setTexts((t) => {
      const next = { ...t };
      for (const p of properties) if (!dirty.has(p.name)) next[p.name] = initial(p);
      return next;
    });
    // Only a new server view refreshes the fields; `initial` reads nothing else.
  }, [view]);

  const edit = (name: string, text: string) => {
    setTexts((t) => ({ ...t, [name]: text }));
    setDirty((d) => new Set(d).add(name));
    setSaved(null);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setSaved(null);
    const nextErrors: Record<string, string> = {};
    const sent: string[] = [];
    // One PATCH per property, so a refusal lands beside its own field and the others still go.
    for (const p of properties) {
      if (!dirty.has(p.name)) continue;
      try {
        await api('PATCH', devicePath(deviceId, path), {
          [p.name]: fromText(texts[p.name] ?? '', p.schema),
        });
        sent.push(p.displayName);
      } catch (err) {
        nextErrors[p.name] = messageOf(err);
      }
    }
    setErrors(nextErrors);
    setDirty(new Set(Object.keys(nextErrors)));
    try {
      onSaved(await api<PropertiesView>('GET', devicePath(deviceId, path)));
    } catch {
      // The next live event reloads.
    }
    if (sent.length > 0) setSaved(`Sent to the device: ${sent.join(', ')}.`);
    setBusy(false);
  };

  return (
    <form className="card" aria-label={title} onSubmit={submit} noValidate>
      <h2>{title}</h2>
      {properties.map((p) => {
        const schema = schemaName(p.schema);
        const state = syncState(metadata[p.name], view[p.name]);
        const values = enumValues(p.schema);
        const id = `prop-${prefix}${p.name}`;
        let input;
        if (schema === 'boolean') {
          input = (
            <input
              id={id}
              type="checkbox"
              role="switch"
              checked={texts[p.name] === 'true'}
              onChange={(e) => edit(p.name, e.target.checked ? 'true' : 'false')}
            />
          );
        } else if (values) {
          input = (
            <select id={id} value={texts[p.name] ?? ''} onChange={(e) => edit(p.name, e.target.value)}>
              <option value="">(choose)</option>
              {values.map((v) => (
                <option key={String(v.enumValue)} value={String(v.enumValue)}>
                  {typeof v.displayName === 'string' ? v.displayName : v.name}
                </option>
              ))}
            </select>
          );
        } else if (NUMBER_SCHEMAS.has(schema)) {
          input = (
            <input
              id={id}
              type="number"
              step={schema === 'integer' || schema === 'long' ? 1 : 'any'}
              value={texts[p.name] ?? ''}
              onChange={(e) => edit(p.name, e.target.value)}
            />
          );
        } else {
          input = (
            <input
              id={id}
              type="text"
              value={texts[p.name] ?? ''}
              onChange={(e) => edit(p.name, e.target.value)}
            />
          );
        }
        return (
          <div className="property-field" key={p.name} data-testid={`property-${prefix}${p.name}`}>
            <label htmlFor={id}>
              {p.displayName}
              <span className="muted">
                {' '}
                {p.name} · {schema}
                {p.unit !== undefined ? ` · ${unitLabel(p.unit)}` : ''}
              </span>
            </label>
            <div className="row">
              {input}
              <span data-testid={`sync-${prefix}${p.name}`} title={state.detail ?? ''}>
                <Badge tone={state.tone}>{state.label}</Badge>
              </span>
              {state.detail !== undefined && state.tone === 'bad' && (
                <span className="error">{state.detail}</span>
              )}
              {view[p.name] !== undefined && <span className="muted">reported {show(view[p.name])}</span>}
            </div>
            <FieldError error={errors[p.name]} />
          </div>
        );
      })}
      <div className="row">
        <button type="submit" className="primary" disabled={busy || dirty.size === 0}>
          Save
        </button>
        {saved !== null && <span className="muted">{saved}</span>}
      </div>
    </form>
  );
}
