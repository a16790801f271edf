import type { Kysely } from 'kysely';
import type { Logger } from 'pino';

import type {
  HubHttpC2DMessage,
  HubHttpCredentials,
  HubHttpHandler,
  HubHttpTelemetry,
} from '../device-http/hub-http-handler.js';
import type { HubConnectIdentity } from '../gateway/gateway-options.js';
import type { Database } from '../store/schema.js';
import type { CloudToDevice } from './cloud-to-device.js';
import type { AuthenticationResult, DeviceAuthentication } from './device-authentication.js';
import { hubError } from './errors.js';
import { decodeBody, isPlainObject } from './message-body.js';
import type { TelemetryIngest } from './telemetry-ingest.js';
import type { TelemetryInput } from './telemetry-store.js';

export interface HubHttpDevicesOptions {
  db: Kysely<Database>;
  hostName: string;
  logger: Logger;
  now: () => Date;
  authentication: DeviceAuthentication;
  ingest: TelemetryIngest;
  c2d: CloudToDevice;
  /** Told of every refused request, to keep the reason (the refusal records). */
  onRefused?: (identity: HubConnectIdentity, refusal: Extract<AuthenticationResult, { ok: false }>) => void;
}

/**
 * The hub over HTTPS (PROTOCOL.md §4), for the device HTTPS listener: the same
 * device authentication, telemetry ingest (acknowledged = committed) and C2D
 * queue as MQTT, per request since HTTPS devices hold no connection.
 */
export class HubHttpDevices implements HubHttpHandler {
  constructor(private readonly o: HubHttpDevicesOptions) {}

  async authenticate(deviceId: string, credentials: HubHttpCredentials): Promise<void> {
    const identity: HubConnectIdentity = {
      username: {
        kind: 'hub',
        hostName: this.o.hostName,
        deviceId,
        params: {},
      } as HubConnectIdentity['username'],
      peerCertificates: credentials.clientCertificates,
      transport: 'mqtt',
      ...(credentials.authorization !== undefined ? { password: credentials.authorization } : {}),
      ...(credentials.remoteAddress !== undefined ? { remoteAddress: credentials.remoteAddress } : {}),
    };
    const result = await this.o.authentication.authenticate(deviceId, identity);
    if (!result.ok) {
      this.o.logger.info({ deviceId, reason: result.reason, transport: 'https' }, 'device refused');
      this.o.onRefused?.(identity, result);
      throw hubError('ERR_DEVICE_UNAUTHORIZED', `Device '${deviceId}' is not authorized.`, {
        detail: { reason: result.reason },
      });
    }
    await this.touch(deviceId);
  }

  async sendTelemetry(deviceId: string, message: HubHttpTelemetry): Promise<void> {
    const input: TelemetryInput = {
      deviceId,
      enqueuedAt: this.o.now().toISOString(),
      component: message.systemProperties['$.sub'] ?? null,
      body: message.body,
      contentType: message.systemProperties['$.ct'] ?? null,
      systemProperties: { ...message.systemProperties },
      properties: { ...message.applicationProperties },
    };
    const decoded = decodeBody(message.body);
    if (decoded.bodyEncoding === 'json' && isPlainObject(decoded.body)) input.fields = decoded.body;
    await this.o.ingest.submit(input);
  }

  async receiveC2D(deviceId: string): Promise<HubHttpC2DMessage | null> {
    const got = await this.o.c2d.receive(deviceId);
    if (!got) return null;
    const { row, properties, lockToken } = got;
    return {
      lockToken,
      messageId: row.message_id,
      body: Buffer.from(row.body),
      properties: { ...properties.application },
      expiry: row.expiry,
      ...(row.correlation_id ? { correlationId: row.correlation_id } : {}),
    };
  }

  completeC2D(deviceId: string, lockToken: string): Promise<void> {
    return this.o.c2d.settle(deviceId, lockToken, 'complete');
  }

  rejectC2D(deviceId: string, lockToken: string): Promise<void> {
    return this.o.c2d.settle(deviceId, lockToken, 'reject');
  }

  abandonC2D(deviceId: string, lockToken: string): Promise<void> {
    return this.o.c2d.settle(deviceId, lockToken, 'abandon');
  }

  /** HTTPS devices have no connection: record their activity per request. */
  private async touch(deviceId: string): Promise<void> {
    const time = this.o.now().toISOString();
    await this.o.db
      .insertInto('device_status')
      .values({ device_id: deviceId, last_activity: time, last_connected: null })
      .onConflict((oc) => oc.column('device_id').doUpdateSet({ last_activity: time }))
      .execute()
      .catch((err: unknown) => this.o.logger.debug({ err, deviceId }, 'activity not recorded'));
  }
}
