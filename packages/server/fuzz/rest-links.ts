/**
 * The stateful part of `npm run fuzz -- rest` (Schemathesis's links, RESTler's use-after-free
 * rule): for each resource the API can delete, create one with a valid body, read it, delete
 * it, and then call every other operation of its path and the paths under it with its ID. Once
 * deleted, nothing may succeed on it (a 2xx is `use-after-free`) and nothing may fail as the
 * server's fault (`5xx`); a read must be 404. Every answer is checked against the document as
 * in the random phase. PUT is left out after the delete: it creates again, by design.
 */
import { THERMOSTAT_MODEL } from '../src/app/device-templates-builtin.js';
import { ROLE_IDS } from '../src/app/roles.js';
import type { FuzzRecorder } from './fuzz-report.js';
import { checkConformance, type Operation } from './fuzz-rest.js';

interface Resource {
  /** The path template of the resource, as the document writes it. */
  path: string;
  id: string;
  body: unknown;
}

const TEMPLATE_ID = 'dtmi:fuzz:Links;1';

/** Created before the resources and kept: what their bodies refer to. */
const FIXTURES: Resource[] = [
  { path: '/api/deviceTemplates/{id}', id: TEMPLATE_ID, body: { ...THERMOSTAT_MODEL, '@id': TEMPLATE_ID } },
  {
    path: '/api/deviceGroups/{id}',
    id: 'links-kept-group',
    body: { displayName: 'kept', filter: 'SELECT * FROM devices' },
  },
  {
    path: '/api/dataExport/destinations/{id}',
    id: 'links-kept-destination',
    body: { displayName: 'kept', type: 'webhook@v1', url: 'http://127.0.0.1:9/hook' },
  },
];

/** Every kind of resource with a DELETE, each with a body that creates it. */
const RESOURCES: Resource[] = [
  { path: '/api/devices/{id}', id: 'links-device', body: { displayName: 'links' } },
  {
    path: '/api/enrollmentGroups/{id}',
    id: 'links-group',
    body: { displayName: 'links', type: 'iot', attestation: { type: 'symmetricKey' } },
  },
  {
    path: '/api/deviceTemplates/{id}',
    id: 'dtmi:fuzz:LinksDeleted;1',
    body: { ...THERMOSTAT_MODEL, '@id': 'dtmi:fuzz:LinksDeleted;1' },
  },
  {
    path: '/api/deviceGroups/{id}',
    id: 'links-device-group',
    body: { displayName: 'links', filter: 'SELECT * FROM devices' },
  },
  {
    path: '/api/users/{userId}',
    id: 'links-user',
    body: { type: 'email', email: 'links@example.com', roles: [{ role: ROLE_IDS.operator }] },
  },
  { path: '/api/apiTokens/{tokenId}', id: 'links-token', body: { roles: [{ role: ROLE_IDS.operator }] } },
  {
    path: '/api/scheduledJobs/{id}',
    id: 'links-scheduled',
    body: {
      displayName: 'links',
      group: 'links-kept-group',
      data: [
        { type: 'command', target: TEMPLATE_ID, path: 'getMaxMinReport', value: '2024-05-01T10:00:00Z' },
      ],
      schedule: { start: '2099-01-01T00:00:00Z' },
    },
  },
  {
    path: '/api/dataExport/destinations/{id}',
    id: 'links-destination',
    body: { displayName: 'links', type: 'webhook@v1', url: 'http://127.0.0.1:9/hook' },
  },
  {
    path: '/api/dataExport/exports/{id}',
    id: 'links-export',
    body: {
      displayName: 'links',
      enabled: false,
      source: 'telemetry',
      destinations: [{ id: 'links-kept-destination' }],
    },
  },
  {
    path: '/api/rules/{id}',
    id: 'links-rule',
    body: {
      displayName: 'links',
      target: { template: TEMPLATE_ID },
      conditions: { match: 'all', items: [{ capability: 'temperature', operator: '>', value: 30 }] },
      actions: [{ type: 'webhook', displayName: 'Hook', url: 'http://127.0.0.1:9/hook' }],
    },
  },
];

/** Values for the other parameters of a path under a resource. */
const OTHER_PARAMETERS: Record<string, string> = {
  entry: 'primary',
  name: 'temperature',
  component: 'thermostat1',
  rerunId: 'links-rerun',
};

/** Runs the sequences; returns how many were run and how many calls they made. */
export async function restLinks(o: {
  baseUrl: string;
  /** The Authorization header's value. */
  authorization: string;
  ops: Operation[];
  rec: FuzzRecorder;
  /** Index of the first call, after the random phase's. */
  first: number;
}): Promise<{ resources: number; calls: number }> {
  let index = o.first;
  const call = async (op: Operation | undefined, method: string, path: string, body?: unknown) => {
    const i = index++;
    o.rec.begin(i);
    const url = `${o.baseUrl}${path}`;
    const headers: Record<string, string> = { authorization: o.authorization };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    const shown = `${method} ${path} ${body === undefined ? '' : JSON.stringify(body).slice(0, 200)}`;
    if (res.status >= 500)
      o.rec.add('5xx', `${res.status} ${method} ${path}: ${text.slice(0, 200)}`, i, shown);
    if (op) {
      const finding = checkConformance(op, res.status, res.headers.get('content-type') ?? '', text);
      if (finding) o.rec.add(finding.kind, finding.text, i, shown);
    }
    return { status: res.status, text, index: i, shown };
  };
  const find = (method: string, path: string) => o.ops.find((op) => op.method === method && op.path === path);
  const fill = (template: string, id: string) =>
    template.replace(/\{([^}]+)\}/g, (_m, name: string, offset: number) =>
      encodeURIComponent(offset === template.indexOf('{') ? id : (OTHER_PARAMETERS[name] ?? 'x')),
    );

  for (const f of FIXTURES) {
    const r = await call(find('PUT', f.path), 'PUT', fill(f.path, f.id), f.body);
    if (r.status >= 300)
      o.rec.add('links-setup', `fixture ${f.path} ${f.id}: ${r.status} ${r.text.slice(0, 200)}`, r.index);
  }
  for (const res of RESOURCES) {
    const path = fill(res.path, res.id);
    const created = await call(find('PUT', res.path), 'PUT', path, res.body);
    if (created.status >= 300) {
      o.rec.add(
        'links-setup',
        `${res.path} ${res.id}: ${created.status} ${created.text.slice(0, 200)}`,
        created.index,
      );
      continue;
    }
    const read = await call(find('GET', res.path), 'GET', path);
    if (read.status !== 200)
      o.rec.add('links-read', `GET ${path} after its PUT answered ${read.status}`, read.index, read.shown);
    const deleted = await call(find('DELETE', res.path), 'DELETE', path);
    if (deleted.status !== 204)
      o.rec.add('links-delete', `DELETE ${path} answered ${deleted.status}`, deleted.index, deleted.shown);
    const gone = await call(find('GET', res.path), 'GET', path);
    if (gone.status !== 404)
      o.rec.add(
        'use-after-free',
        `GET ${path} after its DELETE answered ${gone.status}`,
        gone.index,
        gone.shown,
      );
    // Everything else on it and under it (the resource's own collection prefix).
    for (const op of o.ops) {
      if (op.method === 'PUT' || (op.path === res.path && op.method === 'GET')) continue;
      if (op.path !== res.path && !op.path.startsWith(`${res.path}/`)) continue;
      const target = fill(op.path, res.id);
      const after = await call(op, op.method, target, op.hasBody ? {} : undefined);
      if (after.status < 300 && !(op.method === 'DELETE' && op.path === res.path))
        o.rec.add(
          'use-after-free',
          `${op.method} ${op.path} on deleted '${res.id}' answered ${after.status}`,
          after.index,
          after.shown,
        );
      if (op.method === 'DELETE' && op.path === res.path && after.status !== 404 && after.status !== 204)
        o.rec.add(
          'links-delete',
          `a second DELETE ${target} answered ${after.status}`,
          after.index,
          after.shown,
        );
    }
  }
  return { resources: RESOURCES.length, calls: index - o.first };
}
