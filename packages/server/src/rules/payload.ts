/**
 * What a fired rule sends: IoT Central's rule webhook payload (EXPORT_RULES.md §4.3, exactly:
 * timestamp, action, application, device with cloud properties, properties and telemetry
 * grouped by interface instance, rule), and the e-mail in plain text and HTML naming the
 * device, the rule, the values and a link to the device page.
 */
import type { RuleAction, WebhookAction } from './rule-shape.js';

/** The interface instance name of root-level capabilities (IoT Central documents none for them). */
export const ROOT_INSTANCE = '_';

/** The device as the payload describes it. */
export interface FiredDevice {
  id: string;
  etag: string;
  displayName: string;
  template: string | null;
  simulated: boolean;
  provisioned: boolean;
  enabled: boolean;
  /** Reported properties: root ones by name, a component's under its name (twin shape). */
  reported: Record<string, unknown>;
  /** Cloud properties in the same shape. */
  cloud: Record<string, unknown>;
}

/** The values that made the rule fire: telemetry `component.name` or `name` → value (or `{avg: x}`). */
export interface FiredValues {
  /** `value` for a plain condition, the aggregation name (`avg`, `count`…) for a windowed one. */
  telemetry: { component?: string; name: string; key: string; value: unknown }[];
  properties?: { component?: string; name: string; value: unknown }[];
  /** For a disconnected-for-N rule: since when. */
  disconnectedSince?: string;
}

export interface FiredRule {
  rule: { id: string; displayName: string };
  device: FiredDevice;
  values: FiredValues;
  time: string;
}

export interface ApplicationIdentity {
  id: string;
  displayName: string;
  host: string;
  /** Base of the web UI links, e.g. `http://gatehouse.local:8080`. */
  uiBase: string;
}

/** `{name: {value}}` per interface instance, as IoT Central nests properties in the payload. */
function byInstance(
  values: Record<string, unknown>,
  components: ReadonlySet<string>,
): Record<string, Record<string, { value: unknown }>> {
  const out: Record<string, Record<string, { value: unknown }>> = {};
  for (const [key, v] of Object.entries(values)) {
    if (key.startsWith('$')) continue;
    if (components.has(key) && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [name, inner] of Object.entries(v as Record<string, unknown>)) {
        if (name === '__t') continue;
        (out[key] ??= {})[name] = { value: unwrapAck(inner) };
      }
    } else {
      (out[ROOT_INSTANCE] ??= {})[key] = { value: unwrapAck(v) };
    }
  }
  return out;
}

/** A writable property's acknowledgement `{value, ac, av}` reads as its value. */
function unwrapAck(v: unknown): unknown {
  if (v !== null && typeof v === 'object' && 'value' in v && 'ac' in v)
    return (v as { value: unknown }).value;
  return v;
}

/** EXPORT_RULES.md §4.3, field for field. */
export function webhookPayload(
  fired: FiredRule,
  action: WebhookAction,
  app: ApplicationIdentity,
  components: ReadonlySet<string>,
): Record<string, unknown> {
  const telemetry: Record<string, Record<string, Record<string, unknown>>> = {};
  for (const t of fired.values.telemetry) {
    ((telemetry[t.component ?? ROOT_INSTANCE] ??= {})[t.name] ??= {})[t.key] = t.value;
  }
  const d = fired.device;
  return {
    timestamp: fired.time,
    action: {
      id: action.id,
      type: 'WebhookAction',
      rules: [fired.rule.id],
      displayName: action.displayName,
      url: action.url,
    },
    application: {
      id: app.id,
      displayName: app.displayName,
      subdomain: app.host.split('.')[0] ?? app.host,
      host: app.host,
    },
    device: {
      id: d.id,
      etag: d.etag,
      displayName: d.displayName,
      instanceOf: d.template,
      simulated: d.simulated,
      provisioned: d.provisioned,
      approved: d.enabled,
      cloudProperties: flatten(byInstance(d.cloud, components)),
      properties: byInstance(d.reported, components),
      telemetry,
    },
    rule: { id: fired.rule.id, displayName: fired.rule.displayName },
  };
}

/** Cloud properties are not grouped by interface in IoT Central's example (`{"City":{"value":…}}`). */
function flatten(grouped: Record<string, Record<string, { value: unknown }>>): Record<string, unknown> {
  const { [ROOT_INSTANCE]: root, ...components } = grouped;
  return { ...(root ?? {}), ...components };
}

export function deviceLink(app: ApplicationIdentity, deviceId: string): string {
  return `${app.uiBase.replace(/\/$/, '')}/devices/${encodeURIComponent(deviceId)}`;
}

/** The values as lines of `name: value`. */
export function valueLines(values: FiredValues): string[] {
  const lines: string[] = [];
  for (const t of values.telemetry) {
    const name = t.component ? `${t.component}.${t.name}` : t.name;
    lines.push(
      t.key === 'value'
        ? `${name} = ${JSON.stringify(t.value)}`
        : `${t.key}(${name}) = ${JSON.stringify(t.value)}`,
    );
  }
  for (const p of values.properties ?? []) {
    lines.push(`${p.component ? `${p.component}.${p.name}` : p.name} = ${JSON.stringify(p.value)}`);
  }
  if (values.disconnectedSince !== undefined) lines.push(`disconnected since ${values.disconnectedSince}`);
  return lines;
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

/** EXPORT_RULES.md §4.2: app, rule, device, template, time, values, note, link. */
export function emailContent(
  fired: FiredRule,
  action: Extract<RuleAction, { type: 'email' }>,
  app: ApplicationIdentity,
): EmailContent {
  const d = fired.device;
  const link = deviceLink(app, d.id);
  const lines = valueLines(fired.values);
  const subject = `${app.displayName} alert: "${fired.rule.displayName}" triggered on "${d.displayName}"`;
  const text = [
    `${app.displayName} alert: "${fired.rule.displayName}" triggered on "${d.displayName}" at ${fired.time}.`,
    '',
    `Rule: ${fired.rule.displayName} (${fired.rule.id})`,
    `Device: ${d.displayName} (${d.id})`,
    `Template: ${d.template ?? '(none)'}`,
    `Time: ${fired.time}`,
    ...lines.map((l) => `Value: ${l}`),
    ...(action.note !== undefined ? ['', action.note] : []),
    '',
    `Device page: ${link}`,
    '',
  ].join('\n');
  const row = (k: string, v: string) =>
    `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`;
  const html = [
    `<p><strong>${escapeHtml(app.displayName)} alert</strong>: rule <strong>${escapeHtml(fired.rule.displayName)}</strong> triggered on <strong>${escapeHtml(d.displayName)}</strong>.</p>`,
    '<table>',
    row('Rule', `${fired.rule.displayName} (${fired.rule.id})`),
    row('Device', `${d.displayName} (${d.id})`),
    row('Template', d.template ?? '(none)'),
    row('Time', fired.time),
    ...lines.map((l) => row('Value', l)),
    '</table>',
    ...(action.note !== undefined ? [`<p>${escapeHtml(action.note)}</p>`] : []),
    `<p><a href="${escapeHtml(link)}">Open the device page</a></p>`,
  ].join('\n');
  return { subject, text, html };
}
