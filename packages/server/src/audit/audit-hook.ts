/**
 * Records every change made through the REST API, which the web UI uses too: each POST, PUT,
 * PATCH and DELETE on an `/api/` route that succeeded (2xx), and each sign-in and sign-out.
 * Refused attempts are not recorded: IoT Central's audit log records changes, not attempts
 * (EXPORT_RULES.md §2.7), and failed sign-ins are already counted by the sign-in throttle.
 *
 * Before the handler runs, the object as it is (`before`) is read with the route's own GET
 * on the same path and the caller's own credentials, so it is exactly what the caller could
 * read and nothing more; after it, the answer is `after`. Both are redacted (redact.ts). The
 * entry is committed before the answer leaves, so a client that sees its change succeed can
 * read the entry at once.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { ApiPrincipal } from '../app/principal.js';
import type { AuditAction, AuditActor, AuditResource, NewAuditEntry } from './audit-entry.js';
import type { AuditLog } from './audit-log.js';
import { redact } from './redact.js';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Path segments that group resources rather than name one (`/api/dataExport/exports/…`). */
const GROUPING_SEGMENTS = new Set(['dataExport', 'provisioning']);

interface PendingEntry {
  route: string;
  resource: AuditResource;
  /** The GET on the same path answered: true 200, false 404, undefined no GET or not asked. */
  existed: boolean | undefined;
  before: unknown;
}

const pending = new WeakMap<FastifyRequest, PendingEntry>();

export interface AuditHookOptions {
  /** The clock of the entries' `time` (tests move it). */
  now?: () => Date;
}

export function registerAuditHook(app: FastifyInstance, log: AuditLog, options: AuditHookOptions = {}): void {
  const now = options.now ?? (() => new Date());
  app.addHook('preHandler', async (request) => {
    const route = request.routeOptions.url;
    if (!WRITES.has(request.method) || route === undefined || !route.startsWith('/api/')) return;
    const entry: PendingEntry = {
      route,
      resource: resourceOf(route, (request.params ?? {}) as Record<string, string>),
      existed: undefined,
      before: undefined,
    };
    if (
      request.method !== 'POST' &&
      !route.startsWith('/api/session') &&
      app.hasRoute({ method: 'GET', url: route })
    ) {
      // The caller's own credentials: its Authorization header, or the web UI's session cookie.
      const headers = {
        ...(request.headers.authorization !== undefined
          ? { authorization: request.headers.authorization }
          : {}),
        ...(request.headers.cookie !== undefined ? { cookie: request.headers.cookie } : {}),
      };
      const res = await app.inject({ method: 'GET', url: pathOf(request.url), headers });
      if (res.statusCode === 200) {
        entry.existed = true;
        entry.before = parseJson(res.body);
      } else if (res.statusCode === 404) entry.existed = false;
    }
    pending.set(request, entry);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const entry = pending.get(request);
    if (entry === undefined || reply.statusCode >= 300) return payload;
    pending.delete(request);
    try {
      const made = auditEntry(
        request,
        reply,
        entry,
        typeof payload === 'string' ? parseJson(payload) : undefined,
        now(),
      );
      if (made) await log.record(made);
    } catch (err) {
      // The change itself is done and cannot be taken back: say loudly that it went unrecorded.
      request.log.error(
        { err, method: request.method, url: pathOf(request.url) },
        'audit entry not recorded',
      );
    }
    return payload;
  });
}

/** The resource a route writes: the first collection under `/api/` and the id that follows. */
export function resourceOf(route: string, params: Record<string, string>): AuditResource {
  const segments = route.slice('/api/'.length).split('/');
  let i = 0;
  while (i < segments.length - 1 && GROUPING_SEGMENTS.has(segments[i]!)) i++;
  const collection = segments[i] ?? '';
  const type = collection.endsWith('s') ? collection.slice(0, -1) : collection;
  const next = segments[i + 1];
  const id = next?.startsWith(':') ? params[next.slice(1)] : undefined;
  return { type, ...(id !== undefined ? { id } : {}) };
}

function auditEntry(
  request: FastifyRequest,
  reply: FastifyReply,
  entry: PendingEntry,
  answer: unknown,
  time: Date,
): NewAuditEntry | undefined {
  const base = {
    time: time.toISOString(),
    method: request.method,
    path: pathOf(request.url),
    status: reply.statusCode,
    requestId: String(request.id),
  };
  if (entry.route === '/api/session' && request.method === 'POST') {
    // Public route: the caller is who the answer says signed in.
    const user = (answer as { user?: { id?: unknown; username?: unknown } } | undefined)?.user;
    if (typeof user?.id !== 'string') return undefined;
    const name = typeof user.username === 'string' ? user.username : undefined;
    return {
      ...base,
      actor: { type: 'user', id: user.id, ...(name !== undefined ? { name } : {}) },
      action: 'signedIn',
      resource: { type: 'session', id: user.id, ...(name !== undefined ? { displayName: name } : {}) },
    };
  }
  const actor = actorOf(request.principal);
  if (actor === undefined) return undefined;
  if (entry.route.startsWith('/api/session')) {
    const signOut = request.method === 'DELETE';
    return {
      ...base,
      actor,
      action: signOut ? 'signedOut' : 'updated',
      resource: signOut
        ? { type: 'session', id: actor.id, ...(actor.name ? { displayName: actor.name } : {}) }
        : { type: 'user', id: actor.id, ...(actor.name ? { displayName: actor.name } : {}) },
    };
  }
  const action = actionOf(request.method, entry.existed);
  const before = action === 'created' ? undefined : redact(entry.before);
  const after = action === 'deleted' || !isRecord(answer) ? undefined : redact(answer);
  const displayName = nameOf(after) ?? nameOf(before);
  return {
    ...base,
    actor,
    action,
    resource: { ...entry.resource, ...(displayName !== undefined ? { displayName } : {}) },
    ...(before !== undefined ? { before } : {}),
    ...(after !== undefined ? { after } : {}),
  };
}

function actionOf(method: string, existed: boolean | undefined): AuditAction {
  switch (method) {
    case 'DELETE':
      return 'deleted';
    case 'PUT':
      return existed === false ? 'created' : 'updated';
    case 'PATCH':
      return 'updated';
    default:
      return 'invoked';
  }
}

export function actorOf(principal: ApiPrincipal | null): AuditActor | undefined {
  if (principal === null) return undefined;
  return principal.kind === 'apiToken'
    ? { type: 'apiToken', id: principal.tokenId, name: principal.tokenId }
    : { type: 'user', id: principal.userId, name: principal.username };
}

function nameOf(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  for (const key of ['displayName', 'email', 'username']) {
    const v = value[key];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function pathOf(url: string): string {
  return url.split('?')[0] ?? url;
}
