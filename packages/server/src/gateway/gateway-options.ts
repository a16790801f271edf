import type { Certificate } from '@gatehouse/pki';
import type { HubUsername } from '@gatehouse/protocol';
import type { IConnectPacket } from 'mqtt-packet';
import type { Logger } from 'pino';

import type { Metrics } from '../metrics.js';
import type { DpsHandler } from '../provisioning/dps-handler.js';
import type { MqttConnection } from './mqtt-connection.js';
import type { OutboundLimits } from './outbound.js';

/** What the transport knows about the client before CONNECT (same for TLS and WSS). */
export interface MqttPeer {
  /** The TLS client chain as sent, leaf first (PROTOCOL.md §7.4); empty without a certificate. */
  peerCertificates: Certificate[];
  remoteAddress?: string;
  transport: 'mqtt' | 'mqtt-ws';
}

/** A hub CONNECT as the dispatcher classified it (PROTOCOL.md §3.1). */
export interface HubConnectIdentity extends MqttPeer {
  username: HubUsername;
  /** CONNECT password as UTF-8 (a SAS token), if sent. */
  password?: string;
}

/**
 * The hub's entry point: it authenticates and answers with `conn.accept(session, 'hub')` or
 * `conn.refuse(CONNACK.NOT_AUTHORIZED, …)` (PROTOCOL.md §3.8), now or after an await. Packets
 * the client sends meanwhile are held by the connection. A throw or rejection becomes
 * CONNACK 3 (server unavailable), which the SDK retries.
 */
export type HubConnectHandler = (
  conn: MqttConnection,
  connect: IConnectPacket,
  identity: HubConnectIdentity,
) => void | Promise<void>;

/** Everything the gateway needs, shared by every listener (TLS now, WSS later). */
export interface GatewayOptions {
  /** The provisioning service (PROTOCOL.md §1). */
  dps: DpsHandler;
  logger: Logger;
  metrics?: Metrics;
  /** The hub (next issue). Without it hub usernames get CONNACK 5. */
  hub?: HubConnectHandler;
  /** [MQTT-3.1.0-1] default 10 s. */
  connectTimeoutMs?: number;
  /** Largest incoming packet, fixed header included; default 256 KiB + 1 KiB. */
  maxPacketBytes?: number;
  /** DPS requests handled at once per connection before reading pauses; default 8. */
  maxInflightDpsRequests?: number;
  /** What a connection sends: inflight window, write-buffer budget, send timeout (outbound.ts). */
  outbound?: OutboundLimits;
}
