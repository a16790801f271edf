/**
 * Shared fixtures of the transport tests: a throwaway PKI (server CA + server certificate for
 * localhost/127.0.0.1, a device root and a device leaf; STYLE.md §10), a raw HTTPS client
 * that shows exactly what the server answered, and a fake HubHttpHandler that records calls.
 */
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';

import { createDeviceCertificate, createRootCa, createServerCertificate, type Issued } from '@gatehouse/pki';

import type {
  HubHttpC2DMessage,
  HubHttpCredentials,
  HubHttpHandler,
  HubHttpTelemetry,
} from '../../src/device-http/index.js';
import { hubError } from '../../src/hub/errors.js';

export interface TransportPki {
  serverCa: Issued;
  server: Issued;
  deviceRoot: Issued;
  device: Issued;
}

export async function createTransportPki(deviceCn = 'transport-device'): Promise<TransportPki> {
  const serverCa = await createRootCa({ commonName: 'transport-test-server-ca' });
  const server = await createServerCertificate({
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    issuer: serverCa,
  });
  const deviceRoot = await createRootCa({ commonName: 'transport-test-device-root' });
  const device = await createDeviceCertificate({ commonName: deviceCn, issuer: deviceRoot });
  return { serverCa, server, deviceRoot, device };
}

export interface HttpsAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  json<T = Record<string, unknown>>(): T;
}

export interface HttpsCall {
  port: number;
  method: string;
  path: string;
  ca: string;
  headers?: Record<string, string>;
  /** A whole body (sent with Content-Length), or pieces sent with `Transfer-Encoding: chunked`. */
  body?: string | Buffer;
  chunks?: Array<string | Buffer>;
  cert?: string;
  key?: string;
}

/** One HTTPS request on its own connection, answering status, headers and the raw body. */
export function httpsCall(call: HttpsCall): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: call.port,
        method: call.method,
        path: call.path,
        ca: call.ca,
        agent: false,
        // Node's client adds no Content-Length to a GET body by itself; the SDK does (§2).
        headers: {
          ...(call.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(call.body)) } : {}),
          ...call.headers,
        },
        ...(call.cert ? { cert: call.cert, key: call.key } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: <T>() => JSON.parse(body.toString('utf8')) as T,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (call.chunks) {
      for (const c of call.chunks) req.write(c);
      req.end();
    } else {
      req.end(call.body);
    }
  });
}

export type HubCall =
  | { method: 'authenticate'; deviceId: string; credentials: HubHttpCredentials }
  | { method: 'sendTelemetry'; deviceId: string; message: HubHttpTelemetry }
  | { method: 'receiveC2D'; deviceId: string }
  | { method: 'completeC2D' | 'rejectC2D' | 'abandonC2D'; deviceId: string; lockToken: string };

/** A HubHttpHandler over an in-memory C2D queue; refuses devices not in `devices`. */
export class FakeHubHttpHandler implements HubHttpHandler {
  readonly calls: HubCall[] = [];
  readonly devices = new Set<string>(['http-device']);
  readonly queue: HubHttpC2DMessage[] = [];
  readonly locked = new Map<string, HubHttpC2DMessage>();
  /** Set to make authenticate refuse with this status. */
  refuseWith: number | undefined;

  async authenticate(deviceId: string, credentials: HubHttpCredentials): Promise<void> {
    this.calls.push({ method: 'authenticate', deviceId, credentials });
    if (this.refuseWith !== undefined)
      throw Object.assign(new Error('Unauthorized: the credentials were refused.'), {
        status: this.refuseWith,
      });
    if (!this.devices.has(deviceId))
      throw Object.assign(new Error(`Device ${deviceId} not found.`), { status: 404 });
  }

  async sendTelemetry(deviceId: string, message: HubHttpTelemetry): Promise<void> {
    this.calls.push({ method: 'sendTelemetry', deviceId, message });
  }

  async receiveC2D(deviceId: string): Promise<HubHttpC2DMessage | null> {
    this.calls.push({ method: 'receiveC2D', deviceId });
    const next = this.queue.shift();
    if (!next) return null;
    this.locked.set(next.lockToken, next);
    return next;
  }

  private settle(method: 'completeC2D' | 'rejectC2D' | 'abandonC2D', deviceId: string, lockToken: string) {
    this.calls.push({ method, deviceId, lockToken });
    const message = this.locked.get(lockToken);
    if (!message) throw hubError('ERR_C2D_LOCK_TOKEN_UNKNOWN', `Lock token ${lockToken} is not current.`);
    this.locked.delete(lockToken);
    if (method === 'abandonC2D') this.queue.unshift(message);
  }

  async completeC2D(deviceId: string, lockToken: string): Promise<void> {
    this.settle('completeC2D', deviceId, lockToken);
  }

  async rejectC2D(deviceId: string, lockToken: string): Promise<void> {
    this.settle('rejectC2D', deviceId, lockToken);
  }

  async abandonC2D(deviceId: string, lockToken: string): Promise<void> {
    this.settle('abandonC2D', deviceId, lockToken);
  }

  telemetry(): HubHttpTelemetry[] {
    return this.calls.flatMap((c) => (c.method === 'sendTelemetry' ? [c.message] : []));
  }
}
