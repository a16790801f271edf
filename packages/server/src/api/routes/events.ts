import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HubApi, HubEvent } from '../../hub/hub-api.js';
import { ACCESS_TOKEN } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { DEVICE_ID, doc } from './schema.js';
import { EVENT_STREAM } from '../responses/events.js';

type DeviceParams = { Params: { id: string } };

/** Default time between heartbeats: proxies and browsers keep a stream open that is not silent. */
export const SSE_HEARTBEAT_MS = 15_000;
/** A client this far behind (bytes not yet taken by the socket) is cut off, not buffered for. */
export const SSE_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

const TOKEN_NOTE = `Server-sent events; browsers' EventSource cannot set headers, so this route also takes the API token as the \`${ACCESS_TOKEN}\` query parameter (the Bearer secret or the whole SharedAccessSignature text)`;
const DESCRIPTION = `\`Content-Type: text/event-stream\`. Each HubEvent is sent as \`event: <type>\` (telemetry, connected, disconnected, reportedProperties, desiredProperties, deviceChanged, commandCompleted) and \`data: <the event as JSON>\`; telemetry events carry an SSE \`id\` (enqueued time and row id): a client that reconnects with \`Last-Event-ID\` first gets the stored telemetry it missed (from 5 s before that event, at most 1,000 messages; some may repeat, with the same id), then the live events. A comment line is sent every 15 s, after the credentials are checked again: the stream ends when they no longer authenticate (signed out, session expired, token revoked, user deleted). The Authorization header, when present, wins over \`${ACCESS_TOKEN}\`; the token is redacted from the logs. No other route accepts \`${ACCESS_TOKEN}\`.`;

/**
 * The live event streams (server-sent events): the whole application or one device. Each
 * stream is a hub subscription that ends when the client goes away, and every open stream is
 * ended when the server closes (else `close()` would wait for the clients).
 */
export function eventRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'hub' | 'sseHeartbeatMs'>): void {
  const { hub } = deps;
  const heartbeatMs = deps.sseHeartbeatMs ?? SSE_HEARTBEAT_MS;
  const tag = 'Events';
  const config = { queryToken: true };
  // No automatic HEAD: it would open a subscription for a response without a body.
  const exposeHeadRoute = false;
  const query = {
    [ACCESS_TOKEN]: 'The API token, for EventSource clients that cannot send the Authorization header.',
  };
  const open = new Set<PassThrough>();
  app.addHook('preClose', async () => {
    for (const stream of open) stream.end();
  });

  app.get(
    '/api/events',
    {
      config,
      exposeHeadRoute,
      schema: doc(tag, `Stream the events of every device (${TOKEN_NOTE})`, {
        query,
        description: DESCRIPTION,
        responses: { 200: EVENT_STREAM },
      }),
    },
    async (request, reply) => stream(request, reply, hub, open, heartbeatMs),
  );
  app.get<DeviceParams>(
    '/api/devices/:id/events',
    {
      config,
      exposeHeadRoute,
      schema: doc(tag, `Stream the events of one device (${TOKEN_NOTE})`, {
        params: { id: DEVICE_ID },
        query,
        description: DESCRIPTION,
        responses: { 200: EVENT_STREAM },
      }),
    },
    async (request, reply) => {
      // 400 / 404 before the stream opens, as a JSON error.
      await hub.getDevice(request.params.id);
      return stream(request, reply, hub, open, heartbeatMs, request.params.id);
    },
  );
}

/** How far before the last event a resumed stream looks again (telemetry of other nodes may commit late). */
export const SSE_RESUME_OVERLAP_MS = 5000;
/** The most stored telemetry a resumed stream replays. */
export const SSE_RESUME_LIMIT = 1000;

/**
 * The SSE id of a telemetry event: its enqueued time and row id. A browser that reconnects
 * sends it back as `Last-Event-ID`; the stream then replays the stored telemetry it missed.
 */
export function sseEventId(event: HubEvent): string | undefined {
  return event.type === 'telemetry' && event.id !== undefined
    ? `${event.enqueuedTime}/${event.id}`
    : undefined;
}

/** `Last-Event-ID` as this server writes it; anything else is ignored (a fresh stream). */
export function parseLastEventId(value: unknown): { time: string; id: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z)\/(\d{1,18})$/.exec(value);
  if (!match || Number.isNaN(Date.parse(match[1]!))) return undefined;
  return { time: match[1]!, id: value };
}

/** One SSE frame: an `id:` line for stored telemetry, an `event:` line with the type and one `data:` line (JSON has no raw newlines). */
export function sseFrame(event: HubEvent): string {
  const id = sseEventId(event);
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

async function stream(
  request: FastifyRequest,
  reply: FastifyReply,
  hub: HubApi,
  open: Set<PassThrough>,
  heartbeatMs: number,
  deviceId?: string,
): Promise<FastifyReply> {
  const out = new PassThrough();
  const write = (text: string) => {
    if (out.destroyed || out.writableEnded) return;
    if (out.writableLength > SSE_MAX_BUFFERED_BYTES) {
      request.log.warn({ deviceId, buffered: out.writableLength }, 'event stream client too slow; closed');
      out.destroy();
      return;
    }
    out.write(text);
  };
  // Resuming (CLUSTER.md §6.4): subscribe first and hold live events back, replay the stored
  // telemetry since a little before the last event the client saw, then release the held
  // events without what the replay already sent. Pub/sub between nodes is at most once; the
  // store is not, so a reconnect (to this node or another) leaves no gap. Replayed events
  // may repeat ones the client has (the overlap): their ids are the same, so it can tell.
  const resume = parseLastEventId(request.headers['last-event-id']);
  let held: HubEvent[] | undefined = resume ? [] : undefined;
  const unsubscribe = hub.subscribe((event) => {
    if (held) held.push(event);
    else write(sseFrame(event));
  }, deviceId);
  if (resume) {
    const from = new Date(Date.parse(resume.time) - SSE_RESUME_OVERLAP_MS).toISOString();
    void hub
      .telemetryEventsSince(deviceId, from, SSE_RESUME_LIMIT)
      .then(
        (missed) => missed,
        (err: unknown) => {
          request.log.warn({ err, deviceId }, 'event stream: stored telemetry not replayed');
          return [] as HubEvent[];
        },
      )
      .then((missed) => {
        const sent = new Set<string>([resume.id]);
        for (const event of missed) {
          const id = sseEventId(event);
          if (id !== undefined && sent.has(id)) continue;
          if (id !== undefined) sent.add(id);
          write(sseFrame(event));
        }
        const live = held ?? [];
        held = undefined;
        for (const event of live) {
          const id = sseEventId(event);
          if (id === undefined || !sent.has(id)) write(sseFrame(event));
        }
      });
  }
  // The credentials were checked when the stream opened; a stream lives for hours, so each
  // heartbeat checks them again: sign-out, session expiry, a revoked token or a deleted user
  // ends the stream within one interval (the client's reconnect then gets the 401).
  let checking = false;
  const beat = async () => {
    if (checking || out.destroyed || out.writableEnded) return;
    checking = true;
    try {
      await request.reauthenticate?.();
      write(': heartbeat\n\n');
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      request.log.info({ deviceId, code }, 'event stream credentials no longer valid; closed');
      out.end();
    } finally {
      checking = false;
    }
  };
  const heartbeat = setInterval(() => void beat(), heartbeatMs);
  heartbeat.unref();
  open.add(out);
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    clearInterval(heartbeat);
    unsubscribe();
    open.delete(out);
    request.log.debug({ deviceId }, 'event stream closed');
  };
  out.once('close', cleanup);
  // fastify destroys the source when the response closes early; this covers the remaining paths.
  reply.raw.once('close', () => {
    cleanup();
    out.destroy();
  });
  // In a cluster the subscription reaches the other nodes a moment later: the stream opens once
  // it has (events meanwhile wait in `out`), so a client that sees it open misses nothing.
  // (At most 2 s: with the bus down the stream opens anyway, with this node's events.)
  await Promise.race([hub.eventsSettled?.(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  // A first line at once, so the client sees the headers (EventSource `open`) without waiting.
  out.write(': stream open\n\n');
  return reply
    .code(200)
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache, no-transform')
    .header('x-accel-buffering', 'no')
    .send(out);
}
