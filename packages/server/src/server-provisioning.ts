/**
 * The provisioning services of the composition root (server.ts), made under the start-up lock:
 * device templates and their built-ins, the enrollments and their defaults, revocation, and the
 * DPS registration service the device ports answer with.
 */
import { DeviceTemplateService } from './app/device-templates.js';
import type { EventBus } from './events/event-bus.js';
import { ProvisioningAttempts } from './provisioning/attempts.js';
import { SymmetricKeyAttestation } from './provisioning/attestation/symmetric-key.js';
import { X509Attestation } from './provisioning/attestation/x509.js';
import { EnrollmentGroupService } from './provisioning/enrollment-groups.js';
import { IndividualEnrollmentService } from './provisioning/individual-enrollments.js';
import type { ProvisioningStore } from './provisioning/provisioning-store.js';
import { RegistrationService } from './provisioning/registration.js';
import { createRevocation, type Revocation } from './revocation/index.js';
import type { ServerNode } from './server-store.js';

export interface ServerProvisioning {
  templates: DeviceTemplateService;
  resolveTemplate: (modelId: string) => ReturnType<DeviceTemplateService['findByModelId']>;
  attempts: ProvisioningAttempts;
  groups: EnrollmentGroupService;
  individual: IndividualEnrollmentService;
  revocation: Revocation;
  registration: RegistrationService;
}

export interface ProvisioningWiring {
  store: ProvisioningStore;
  /** The current ID scope (an import may change it). */
  scope: () => string;
  /** The hub is made after these services: its events are looked up when a device is assigned. */
  hubEvents: () => EventBus;
  /** `retry-after` of the DPS 202 answer, with server.ts's default applied. */
  retryAfterSeconds: number;
}

export async function wireProvisioning(
  node: ServerNode,
  { store, scope, hubEvents, retryAfterSeconds }: ProvisioningWiring,
): Promise<ServerProvisioning> {
  const { options, db, logger, metrics } = node;
  const templates = new DeviceTemplateService(db);
  await templates.ensureBuiltIns();
  const resolveTemplate = (modelId: string) => templates.findByModelId(modelId);

  const attempts = new ProvisioningAttempts(store);
  const groups = new EnrollmentGroupService({ store, idScope: scope });
  const individual = new IndividualEnrollmentService({ store, idScope: scope });
  await groups.ensureDefaults();
  const revocation = createRevocation(db, store, logger.child({ context: 'revocation' }));
  const registration = new RegistrationService({
    store,
    attempts,
    mechanisms: [
      new X509Attestation(store, undefined, revocation.service),
      new SymmetricKeyAttestation(store),
    ],
    idScope: scope,
    hostName: options.hostName,
    retryAfterSeconds,
    logger: logger.child({ context: 'provisioning' }),
    metrics,
    resolveTemplate,
    // The web UI's device list and page hear about it at once (a new device, or provisioned: true).
    onAssigned: (outcome) =>
      hubEvents().emit({
        type: 'deviceChanged',
        deviceId: outcome.deviceId,
        time: new Date().toISOString(),
        change: 'provisioned',
      }),
  });
  return { templates, resolveTemplate, attempts, groups, individual, revocation, registration };
}
