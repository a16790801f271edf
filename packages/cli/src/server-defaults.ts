/**
 * The defaults of `gatehouse serve`, mirrored from the server's SERVER_DEFAULTS
 * so that `--help` does not load the server (a test keeps the two equal).
 */
export const SERVER_DEFAULTS = {
  dataDir: './gatehouse-data',
  hostName: 'localhost',
  bindHost: '0.0.0.0',
  mqttPort: 8883,
  httpPort: 3000,
  httpsPort: 443,
  logLevel: 'info',
  dpsRetryAfterSeconds: 1,
} as const;
