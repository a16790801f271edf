/**
 * The REST API over a REAL hub (STYLE.md §8): a HubService on a temp-file SQLite store with
 * the gateway's MQTT/TLS listener (hub-harness.ts), and the API built on the same store. Devices
 * connect with MQTT.js the way the Azure SDK does; the API is driven by `inject`, or over a
 * real socket (`listen`) for the server-sent event streams, which never end by themselves.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

import type { MqttClient } from 'mqtt';

import type { ApiDeps } from '../../src/api/index.js';
import { apiHarness, type ApiHarness, type ApiHarnessOptions } from './api-harness.js';
import {
  connectDevice,
  createHubPki,
  insertDevice,
  selfSigned,
  startHub,
  type HubHarness,
  type HubPki,
} from './hub-harness.js';

/** Milliseconds per command-timeout "second": a 5 s responseTimeout takes 100 ms. */
export const COMMAND_SECOND_MS = 20;

export interface ApiHubHarness {
  api: ApiHarness;
  hub: HubHarness;
  pki: HubPki;
  /** `api.call`. */
  call: ApiHarness['call'];
  /** A device row with a self-signed certificate (what provisioning would write). */
  addDevice(id: string): Promise<void>;
  /** Adds the device if needed and connects it over MQTT/TLS; `subscribe` lists topic filters. */
  connect(id: string, subscribe?: string[]): Promise<MqttClient>;
  /** Listens on 127.0.0.1:0 (once) and returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function apiHubHarness(
  overrides: Partial<ApiDeps> = {},
  options: Pick<ApiHarnessOptions, 'jobs'> = {},
): Promise<ApiHubHarness> {
  const pki = await createHubPki();
  const hub = await startHub(pki, { hub: { commandSecondMs: COMMAND_SECOND_MS } });
  const api = await apiHarness({ hub: hub.hub, ...overrides }, { store: hub.store, ...options });
  const certs = new Map<string, Awaited<ReturnType<typeof selfSigned>>>();
  const clients: MqttClient[] = [];
  let base: string | undefined;

  const addDevice = async (id: string) => {
    if (certs.has(id)) return;
    const cert = await selfSigned(id);
    certs.set(id, cert);
    await insertDevice(hub, id, { primary: cert });
  };
  return {
    api,
    hub,
    pki,
    call: api.call,
    addDevice,
    async connect(id, subscribe = []) {
      await addDevice(id);
      const client = await connectDevice(hub, pki, id, { identity: certs.get(id) });
      clients.push(client);
      for (const filter of subscribe)
        await client.subscribeAsync(filter, { qos: filter.includes('devicebound') ? 1 : 0 });
      return client;
    },
    async listen() {
      if (base === undefined) {
        await api.app.listen({ host: '127.0.0.1', port: 0 });
        const address = api.app.server.address();
        if (address === null || typeof address === 'string') throw new Error('no TCP address');
        base = `http://127.0.0.1:${address.port}`;
      }
      return base;
    },
    async close() {
      for (const c of clients) c.end(true);
      await api.close();
      await hub.destroy();
    },
  };
}

/** One server-sent event as received. */
export interface SseFrame {
  event: string;
  data: unknown;
  /** The frame's `id:` line, if it had one. */
  id?: string;
}

/** A client of a `text/event-stream` response, parsing frames as they arrive. */
export interface SseClient {
  status: number;
  headers: IncomingHttpHeaders;
  /** The whole body of a non-200 answer. */
  body: string;
  frames: SseFrame[];
  /** Comment lines (`: …`) received, without the colon. */
  comments: string[];
  /** The next frame (already received or to come) matching `match`, or a rejection after `ms`. */
  next(match: (frame: SseFrame) => boolean, ms?: number): Promise<SseFrame>;
  /** Resolves when `check` holds over what was received, or rejects after `ms`. */
  until(check: () => boolean, ms?: number): Promise<void>;
  /** Closes the connection from the client side. */
  close(): void;
  /** Resolves when the server ends the response (or the socket closes). */
  ended: Promise<void>;
}

export function openSse(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { headers: { accept: 'text/event-stream', ...headers } });
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      res.setEncoding('utf8');
      const frames: SseFrame[] = [];
      const comments: string[] = [];
      const waiters = new Set<() => void>();
      let buffer = '';
      let body = '';
      const ended = new Promise<void>((done) => {
        res.on('end', done);
        res.on('close', done);
        res.on('error', () => done());
      });
      res.on('data', (chunk: string) => {
        if (res.statusCode !== 200) {
          body += chunk;
          return;
        }
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          let id: string | undefined;
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0)
            frames.push({
              event,
              data: JSON.parse(data.join('\n')) as unknown,
              ...(id !== undefined ? { id } : {}),
            });
        }
        for (const w of [...waiters]) w();
      });
      const until = (check: () => boolean, ms = 3000) =>
        new Promise<void>((ok, fail) => {
          if (check()) return ok();
          const waiter = () => {
            if (!check()) return;
            clearTimeout(timer);
            waiters.delete(waiter);
            ok();
          };
          const timer = setTimeout(() => {
            waiters.delete(waiter);
            fail(new Error(`SSE condition not met within ${ms} ms; got ${JSON.stringify(frames)}`));
          }, ms);
          waiters.add(waiter);
        });
      const client: SseClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        get body() {
          return body;
        },
        frames,
        comments,
        async next(match, ms = 3000) {
          let found: SseFrame | undefined;
          await until(() => (found = frames.find(match)) !== undefined, ms);
          return found as SseFrame;
        },
        until,
        close: () => req.destroy(),
        ended,
      };
      if (res.statusCode === 200) resolve(client);
      else void ended.then(() => resolve(client));
    });
    req.end();
  });
}
