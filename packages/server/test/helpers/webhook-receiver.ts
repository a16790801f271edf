/**
 * A real HTTP receiver on loopback for data export tests: records every POST (headers and
 * parsed JSON body), and can be switched to answer 500, or taken down (connection refused) and
 * brought back on the same port.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  url: string;
  raw: string;
  body: unknown;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  received: Received[];
  /** 'ok' answers 200, 'fail' answers 500 with a two-line body. */
  mode: 'ok' | 'fail';
  /** Connection refused until {@link up}. */
  down(): Promise<void>;
  up(): Promise<void>;
  /** Waits until `predicate` holds over what was received (polls). */
  waitFor(predicate: (r: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(path = '/hook'): Promise<WebhookReceiver> {
  const received: Received[] = [];
  let server: Server | undefined;
  const receiver: WebhookReceiver = {
    url: '',
    port: 0,
    received,
    mode: 'ok',
    async down() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async up() {
      if (server) return;
      server = listen();
      await new Promise<void>((resolve) => server!.listen(receiver.port, '127.0.0.1', resolve));
      receiver.port = (server.address() as AddressInfo).port;
      receiver.url = `http://127.0.0.1:${receiver.port}${path}`;
    },
    async waitFor(predicate, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > end)
          throw new Error(
            `webhook receiver: condition not met after ${timeoutMs} ms (${received.length} received)`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await receiver.down();
    },
  };
  function listen(): Server {
    return createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (receiver.mode === 'fail') {
          res.writeHead(500, { 'content-type': 'text/plain' }).end('receiver is failing\nsecond line');
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: unknown = raw;
        try {
          body = JSON.parse(raw);
        } catch {
          /* kept as text */
        }
        received.push({ headers: req.headers, url: req.url ?? '', raw, body, at: Date.now() });
        res.writeHead(200).end();
      });
    });
  }
  await receiver.up();
  return receiver;
}
