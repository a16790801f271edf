/**
 * The one place that decides what a CONNECT is (PROTOCOL.md §9): the username shape tells
 * DPS (`<idScope>/registrations/<registrationId>/api-version=…`) from the hub
 * (`<host>/<deviceId>/?api-version=…`), as both share one listener.
 */
import { parseMqttUsername, type DpsUsername } from '@gatehouse/protocol';
import type { IConnectPacket } from 'mqtt-packet';

import type { DpsRequestContext } from '../provisioning/dps-handler.js';
import { CONNACK } from './connack-codes.js';
import { DpsSession } from './dps-session.js';
import type { GatewayOptions, MqttPeer } from './gateway-options.js';
import type { MqttConnection } from './mqtt-connection.js';

const MAX_LOGGED_USERNAME = 256;

export function dispatchConnect(
  conn: MqttConnection,
  connect: IConnectPacket,
  peer: MqttPeer,
  options: GatewayOptions,
): void {
  const username = connect.username;
  const parsed = username === undefined ? null : parseMqttUsername(username);
  if (!parsed) {
    conn.log.info({ username: username?.slice(0, MAX_LOGGED_USERNAME) }, 'username is neither DPS nor hub');
    conn.refuse(CONNACK.BAD_USERNAME_OR_PASSWORD, 'unrecognised username');
    return;
  }
  const password = connect.password?.toString('utf8');
  if (parsed.kind === 'dps') {
    connectDps(conn, connect, parsed, peer, password, options);
    return;
  }
  const hub = options.hub;
  if (!hub) {
    conn.log.info({ deviceId: parsed.deviceId }, 'hub connections are not available yet');
    conn.refuse(CONNACK.NOT_AUTHORIZED, 'hub not available');
    return;
  }
  const identity = { ...peer, username: parsed, ...(password === undefined ? {} : { password }) };
  const refuseOnFailure = (cause: unknown) => {
    conn.log.error({ err: cause }, 'hub connect handler failed');
    conn.refuse(CONNACK.SERVER_UNAVAILABLE, 'hub connect handler failed');
  };
  try {
    const result = hub(conn, connect, identity);
    if (result) result.catch(refuseOnFailure);
  } catch (cause) {
    refuseOnFailure(cause);
  }
}

function connectDps(
  conn: MqttConnection,
  connect: IConnectPacket,
  username: DpsUsername,
  peer: MqttPeer,
  password: string | undefined,
  options: GatewayOptions,
): void {
  // §1.2: the SDK's client identifier is the registration ID; anything else is not a DPS client.
  if (connect.clientId !== username.registrationId) {
    conn.log.info(
      { registrationId: username.registrationId },
      'dps client id differs from the registration ID',
    );
    conn.refuse(CONNACK.IDENTIFIER_REJECTED, 'client id is not the registration ID');
    return;
  }
  const context: DpsRequestContext = {
    idScope: username.idScope,
    registrationId: username.registrationId,
    transport: peer.transport,
    clientCertificates: peer.peerCertificates,
  };
  if (password !== undefined) context.sasToken = password;
  if (peer.remoteAddress !== undefined) context.remoteAddress = peer.remoteAddress;
  // §1.2/§1.10: accept even without (valid) credentials; the service answers 401 per request.
  conn.accept(
    new DpsSession({ conn, handler: options.dps, context, maxInflight: options.maxInflightDpsRequests }),
    'dps',
  );
  conn.log.info(
    {
      idScope: username.idScope,
      certificates: peer.peerCertificates.length,
      sas: password !== undefined,
      clean: connect.clean,
      keepalive: connect.keepalive,
    },
    'dps connection accepted',
  );
}
