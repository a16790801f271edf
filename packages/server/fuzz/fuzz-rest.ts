/**
 * `npm run fuzz -- rest`: every operation of the server's own OpenAPI document, called over a
 * real socket with generated path parameters, query strings, headers and bodies: bodies built
 * from the field names and value shapes the API uses (so many are valid or nearly so) and
 * broken ones (not JSON, the wrong JSON type, huge or deeply nested values). Oracles: no answer
 * is a 5xx, and a body that is not JSON, or not an object where the route takes one, is a 4xx.
 * One request in eight goes without credentials: on any operation but the public ones (sign-in,
 * the OpenAPI document, health) it must not succeed. Every answer must be a status the document
 * lists for the operation, with a body that conforms to its schema there
 * (`undocumented-status`, `nonconforming-response`). Then the stateful sequences of
 * rest-links.ts: create, read, delete, and nothing succeeds on what was deleted.
 */
import { performance } from 'node:perf_hooks';

import fc from 'fast-check';

import { batches, FuzzRecorder, type FuzzReport } from './fuzz-report.js';
import { restLinks } from './rest-links.js';
import { ROLE_IDS } from '../src/app/roles.js';
import { schemaFailure } from '../src/api/response-check.js';

const BATCH = 200;

export interface Operation {
  method: string;
  path: string;
  hasBody: boolean;
  /** The documented answers by status (`200`, `4XX`): the JSON body's schema, or null for none. */
  responses: Map<string, Record<string, unknown> | null>;
}

interface DocOperation {
  responses?: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
}

/** The operations of the document, without the ones that end the fuzzer's own access. */
export async function restOperations(baseUrl: string): Promise<Operation[]> {
  const res = await fetch(`${baseUrl}/api/openapi.json`);
  const doc = (await res.json()) as { paths: Record<string, Record<string, DocOperation>> };
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      if (path === '/api/events' || path.endsWith('/events')) continue; // server-sent streams
      const responses = new Map<string, Record<string, unknown> | null>();
      for (const [status, r] of Object.entries(operation.responses ?? {}))
        responses.set(status, r.content?.['application/json']?.schema ?? r.content?.['*/*']?.schema ?? null);
      ops.push({
        method: method.toUpperCase(),
        path,
        hasBody: ['PUT', 'PATCH', 'POST'].includes(method.toUpperCase()),
        responses,
      });
    }
  }
  return ops;
}

/**
 * Schemathesis's response checks, against the document only: a JSON answer must conform to the
 * schema documented for its status (exact, then `4XX`-style, then `default`), and a success
 * must be a documented status. Returns the finding's kind and text, or undefined.
 */
export function checkConformance(
  op: Operation,
  status: number,
  contentType: string,
  text: string,
): { kind: string; text: string } | undefined {
  const key = [String(status), `${Math.floor(status / 100)}XX`, 'default'].find((k) => op.responses.has(k));
  if (key === undefined)
    return {
      kind: 'undocumented-status',
      text: `${op.method} ${op.path} answered ${status}; documented: ${[...op.responses.keys()].join(', ')}`,
    };
  const documented = op.responses.get(key);
  if (!contentType.startsWith('application/json') || text === '' || !documented) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return {
      kind: 'nonconforming-response',
      text: `${op.method} ${op.path} ${status}: the JSON body does not parse`,
    };
  }
  const why = schemaFailure(documented, body);
  return why === undefined
    ? undefined
    : {
        kind: 'nonconforming-response',
        text: `${op.method} ${op.path} ${status}: ${why}: ${text.slice(0, 200)}`,
      };
}

const FIELDS = [
  'displayName',
  'enabled',
  'template',
  'simulated',
  'roles',
  'role',
  'expiry',
  'type',
  'attestation',
  'x509',
  'symmetricKey',
  'primaryKey',
  'secondaryKey',
  'certificates',
  'primary',
  'secondary',
  'certificate',
  'verified',
  'etag',
  'provisioningStatus',
  'email',
  'password',
  'name',
  'value',
  'data',
  'tiles',
  'filter',
  'group',
  'description',
  'batch',
  'cancellationThreshold',
  'schedule',
  'start',
  'end',
  'recurrence',
  'capabilityModel',
  '@id',
  '@type',
  'contents',
  'schema',
  'payload',
  'request',
  'connectionTimeout',
  'responseTimeout',
  'tags',
  'organizations',
  'id',
  'deviceId',
  'registrationId',
  'verificationCode',
  'currentPassword',
  'newPassword',
  'userName',
  'format',
  'devices',
  'messages',
  'properties',
  'telemetry',
];

const scalar = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom(
    '',
    'x'.repeat(5000),
    'SAS-IoT-Devices',
    'admin',
    'operator',
    'dtmi:com:example:Thermostat;1',
    'P1D',
    'PT5M',
    '2026-01-01T00:00:00Z',
    'not-a-date',
    '../../etc/passwd',
    '%00',
    '<script>',
    "'; DROP TABLE devices;--",
  ),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small', maxDepth: 4 }, scalar, fc.array(tie('v'), { maxLength: 4 }), tie('o')),
  o: fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 10 })), tie('v'), {
    maxKeys: 6,
  }),
})).v;

type Body =
  | { kind: 'json'; value: unknown }
  | { kind: 'object'; value: Record<string, unknown> }
  | { kind: 'raw'; text: string; contentType: string };

const body: fc.Arbitrary<Body | undefined> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 6,
    arbitrary: fc
      .dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 6 })
      .map((v) => ({ kind: 'object' as const, value: v })),
  },
  { weight: 2, arbitrary: value.map((v) => ({ kind: 'json' as const, value: v })) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('raw' as const),
      text: fc.oneof(
        fc.string({ maxLength: 60 }),
        fc.constantFrom('{', '{"a":', '[1,2', 'null', '"x"', '{"a":1}{', '\u0000', '['.repeat(5000)),
      ),
      contentType: fc.constantFrom(
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=latin1',
        '',
      ),
    }),
  },
);

const segment = fc.oneof(
  fc.constantFrom(
    'SAS-IoT-Devices',
    'fuzz-device',
    'admin',
    'primary',
    'secondary',
    'temperature',
    'reboot',
    'x'.repeat(200),
    '%2F..',
    '%00',
    '🙂',
  ),
  fc.stringMatching(/^[A-Za-z0-9._~-]{1,20}$/),
);
const query = fc.array(
  fc.tuple(
    fc.constantFrom(
      'api-version',
      '$top',
      '$skip',
      '$skiptoken',
      '$filter',
      '$orderby',
      'from',
      'to',
      'interval',
      'aggregation',
      'format',
      'maxpagesize',
      'x',
    ),
    fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom(
        '2022-07-31',
        '-1',
        '0',
        '1e9',
        'PT1S',
        'csv',
        "displayName eq 'x'",
        'a eq',
        '(((',
        '2026-01-01T00:00:00Z',
      ),
    ),
  ),
  { maxLength: 3 },
);

export async function fuzzRest(o: {
  baseUrl: string;
  token: string;
  runs: number;
  seed: number;
}): Promise<FuzzReport> {
  const ops = await restOperations(o.baseUrl);
  const rec = new FuzzRecorder('rest', o.seed);
  // The random calls may delete the token they use (DELETE /api/apiTokens/admin is a valid
  // call): the sequences after them use a token of their own, whose ID is longer than any the
  // generator makes.
  const linksToken = await ownToken(o.baseUrl, o.token, `fuzz-links-token-${o.seed}-0123456789`);
  const arbitrary = fc.tuple(
    fc.constantFrom(...ops),
    fc.array(segment, { minLength: 4, maxLength: 4 }),
    query,
    body,
  );
  const statuses: Record<string, number> = {};
  // Calls per operation (HARDENING.md W1 asks for at least 100 examples of each).
  const calls = new Map<string, number>(ops.map((op) => [`${op.method} ${op.path}`, 0]));
  for (const { batch, count, first } of batches(o.runs, BATCH)) {
    const inputs = fc.sample(arbitrary, { numRuns: count, seed: o.seed + batch });
    for (let i = 0; i < inputs.length; i++) {
      const index = first + i;
      const [op, segments, params, b] = inputs[i]!;
      rec.begin(index);
      let n = 0;
      const path = op.path.replace(/\{[^}]+\}/g, () =>
        encodeURIComponent(segments[n++ % segments.length]!).replace(/%25/g, '%'),
      );
      const qs = params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
      const url = `${o.baseUrl}${path}${qs ? `?${qs}` : ''}`;
      const anonymous = index % 8 === 7;
      const headers: Record<string, string> = anonymous ? {} : { authorization: `Bearer ${o.token}` };
      let payload: string | undefined;
      const sent = op.hasBody ? b : undefined;
      if (sent?.kind === 'raw') {
        payload = sent.text;
        if (sent.contentType) headers['content-type'] = sent.contentType;
      } else if (sent) {
        payload = JSON.stringify(sent.value);
        headers['content-type'] = 'application/json';
      }
      const t = performance.now();
      let status: number;
      let text = '';
      let contentType = '';
      try {
        const res = await fetch(url, {
          method: op.method,
          headers,
          ...(payload !== undefined ? { body: payload } : {}),
        });
        status = res.status;
        contentType = res.headers.get('content-type') ?? '';
        text = await res.text();
      } catch (err) {
        rec.add('request-failed', `${op.method} ${path}: ${String(err)}`, index, url);
        continue;
      }
      rec.time(performance.now() - t);
      calls.set(`${op.method} ${op.path}`, (calls.get(`${op.method} ${op.path}`) ?? 0) + 1);
      statuses[`${Math.floor(status / 100)}xx`] = (statuses[`${Math.floor(status / 100)}xx`] ?? 0) + 1;
      const shown = `${op.method} ${url} ${payload?.slice(0, 300) ?? ''}`;
      if (anonymous && status < 400 && !isPublic(op))
        rec.add('auth-ignored', `${status} without credentials: ${op.method} ${op.path}`, index, shown);
      if (status >= 500)
        rec.add('5xx', `${status} ${op.method} ${op.path}: ${text.slice(0, 200)}`, index, shown);
      const nonconforming = checkConformance(op, status, contentType, text);
      if (nonconforming) rec.add(nonconforming.kind, nonconforming.text, index, shown);
      if (
        sent?.kind === 'raw' &&
        sent.contentType.startsWith('application/json') &&
        !isJson(sent.text) &&
        status < 400
      )
        rec.add('bad-json-accepted', `${status} ${op.method} ${op.path}`, index, shown);
      // Every PUT and PATCH of the API takes a JSON object; any other JSON value is refused.
      if (
        sent?.kind === 'json' &&
        (op.method === 'PUT' || op.method === 'PATCH') &&
        (sent.value === null || typeof sent.value !== 'object' || Array.isArray(sent.value)) &&
        status < 400
      )
        rec.add('non-object-accepted', `${status} ${op.method} ${op.path}`, index, shown);
    }
  }
  const links = await restLinks({ baseUrl: o.baseUrl, authorization: linksToken, ops, rec, first: o.runs });
  const perOperation = [...calls.values()];
  return rec.finish({
    operations: ops.length,
    links,
    callsPerOperation: { min: Math.min(...perOperation), max: Math.max(...perOperation) },
    statuses,
  });
}

/** A new administrator API token; the Authorization header that carries it (its `token` text). */
async function ownToken(baseUrl: string, token: string, id: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/apiTokens/${encodeURIComponent(id)}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ roles: [{ role: ROLE_IDS.administrator }] }),
  });
  const body = (await res.json()) as { token?: string };
  if (res.status !== 200 || typeof body.token !== 'string')
    throw new Error(`could not create the fuzzer's token: ${res.status} ${JSON.stringify(body)}`);
  return body.token;
}

/** The operations anyone may call (their routes are marked `public` in api/routes). */
function isPublic(op: Operation): boolean {
  return (
    (op.method === 'POST' && op.path === '/api/session') ||
    op.path === '/api/openapi.json' ||
    !op.path.startsWith('/api/')
  );
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
