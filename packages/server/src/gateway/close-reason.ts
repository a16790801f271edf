/** Why a connection closed; also the `reason` label of refusals in the metrics. */
export type CloseReason =
  | 'client-disconnect'
  | 'peer-closed'
  | 'server-shutdown'
  | 'connect-refused'
  | 'connect-timeout'
  | 'keepalive-timeout'
  | 'packet-too-large'
  | 'malformed-packet'
  | 'protocol-violation'
  | 'send-timeout'
  | 'forbidden'
  | 'internal-error';

export const CLOSE_LOG_LEVEL: Record<CloseReason, 'debug' | 'info' | 'warn' | 'error'> = {
  'client-disconnect': 'debug',
  'peer-closed': 'debug',
  'server-shutdown': 'debug',
  'connect-refused': 'info',
  'connect-timeout': 'info',
  'keepalive-timeout': 'info',
  'packet-too-large': 'warn',
  'malformed-packet': 'warn',
  'protocol-violation': 'warn',
  'send-timeout': 'warn',
  forbidden: 'warn',
  'internal-error': 'error',
};

/** Normal ends; every other reason counts as a refusal in the metrics. */
export const NORMAL_CLOSE: ReadonlySet<CloseReason> = new Set([
  'client-disconnect',
  'peer-closed',
  'server-shutdown',
]);
