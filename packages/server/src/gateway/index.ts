export { CONNACK, type ConnackCode } from './connack-codes.js';
export {
  listenDevicePort,
  type DevicePort,
  type DevicePortOptions,
  type ProxyProtocolOptions,
} from './device-port.js';
export {
  ConnectionAdmission,
  DEFAULT_CONNECT_BURST_PER_IP,
  DEFAULT_CONNECT_RATE_EXEMPT,
  DEFAULT_CONNECT_RATE_PER_IP,
  DEFAULT_MAX_CONNECTIONS,
  type ConnectionLimits,
} from './connection-admission.js';
export { dispatchConnect } from './dispatcher.js';
export { encodeDpsReply, internalErrorReply, type EncodedDpsReply } from './dps-reply.js';
export { DpsSession, type DpsSessionOptions } from './dps-session.js';
export { GATEWAY_ERRORS } from './errors.js';
export { gatewayMetrics, type ConnectionKind, type GatewayMetrics } from './gateway-metrics.js';
export type { GatewayOptions, HubConnectHandler, HubConnectIdentity, MqttPeer } from './gateway-options.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_PACKET_BYTES,
  MqttConnection,
  type CloseReason,
  type MqttConnectionOptions,
  type MqttSession,
} from './mqtt-connection.js';
export {
  DEFAULT_MAX_INFLIGHT,
  DEFAULT_MAX_WRITE_BUFFER_BYTES,
  DEFAULT_SEND_TIMEOUT_MS,
  type OutboundLimits,
} from './outbound.js';
export {
  encodeProxyV2,
  parseProxyV2,
  PROXY_V2_SIGNATURE,
  type ProxyHeaderV2,
  type ProxyParseResult,
} from './proxy-protocol.js';
export { TrustedProxies } from './proxy-trust.js';
export { handleMqttStream } from './mqtt-stream.js';
export { peerCertificateDers, peerCertificates } from './peer-certificates.js';
export { startMqttTlsListener, type MqttListener, type MqttTlsListenerOptions } from './tls-listener.js';
export {
  createMqttWsEndpoint,
  MQTT_WS_PATH,
  MQTT_WS_SUBPROTOCOL,
  type MqttWsEndpoint,
  type WsUpgradeOutcome,
} from './wss-listener.js';
