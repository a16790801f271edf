/**
 * Starts the device HTTPS listener next to a running test server, wired the way server.ts
 * wires the MQTT listener: the same database, ID scope, TLS identity, registration service
 * and hub. Lets the real Azure SDK tests reach DPS over HTTPS and MQTT over WebSockets on
 * 443 before server.ts starts the listener itself.
 */
import {
  startDeviceHttpsListener,
  type DeviceHttpsListener,
  type HubHttpHandler,
} from '../../src/device-http/index.js';
import type { RunningServer } from '../../src/index.js';
import { ProvisioningAttempts } from '../../src/provisioning/attempts.js';
import { SymmetricKeyAttestation } from '../../src/provisioning/attestation/symmetric-key.js';
import { X509Attestation } from '../../src/provisioning/attestation/x509.js';
import { ensureIdScope } from '../../src/provisioning/id-scope.js';
import { ProvisioningStore } from '../../src/provisioning/provisioning-store.js';
import { RegistrationService } from '../../src/provisioning/registration.js';
import { ensureTlsIdentity } from '../../src/tls-identity.js';

export async function startDeviceHttpsNextTo(
  server: RunningServer,
  options: { port: number; hubHttp?: HubHttpHandler; retryAfterSeconds?: number },
): Promise<DeviceHttpsListener> {
  const store = new ProvisioningStore(server.db);
  const idScope = await ensureIdScope(store);
  // Reuses the server's CA and certificate from its data folder.
  const tls = await ensureTlsIdentity({ dataDir: server.dataDir, hostNames: [server.hostName] });
  const logger = server.logger.child({ context: 'gateway' });
  const registration = new RegistrationService({
    store,
    attempts: new ProvisioningAttempts(store),
    mechanisms: [new X509Attestation(store), new SymmetricKeyAttestation(store)],
    idScope,
    hostName: server.hostName,
    retryAfterSeconds: options.retryAfterSeconds ?? 0.1,
    logger: server.logger.child({ context: 'provisioning' }),
    metrics: server.metrics,
  });
  return startDeviceHttpsListener({
    host: '127.0.0.1',
    port: options.port,
    key: tls.key,
    cert: tls.cert,
    gateway: { dps: registration, hub: server.hub.connectHandler(), logger, metrics: server.metrics },
    dpsHandler: registration,
    ...(options.hubHttp ? { hubHttp: options.hubHttp } : {}),
    logger,
    metrics: server.metrics,
  });
}
