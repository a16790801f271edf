/**
 * The revocation context wired together (server-provisioning.ts calls `createRevocation`
 * before the hub is made, server-hub.ts `startRevocation` after it): CRLs, the CONNECT check,
 * the live-session sweep and the refusal records.
 */
import type { Logger } from 'pino';
import type { Kysely } from 'kysely';

import type { Bus } from '../events/bus.js';
import type { HubConnectIdentity } from '../gateway/gateway-options.js';
import type { HubRefusal } from '../hub/hub-service.js';
import type { ProvisioningStore } from '../provisioning/provisioning-store.js';
import type { Database } from '../store/schema.js';
import { nowIso } from '../util.js';
import { RevocationConnectCheck } from './connect-check.js';
import { RevocationService } from './revocation-service.js';
import { RevocationStore } from './revocation-store.js';
import type { RevocationScope } from './scope.js';
import { SessionSweep, type SweptHub } from './session-sweep.js';

export { REVOCATION_ERRORS } from './errors.js';
export { RevocationService } from './revocation-service.js';
export { SessionSweep } from './session-sweep.js';

export interface Revocation {
  service: RevocationService;
  connectCheck: RevocationConnectCheck;
  /** Keeps a refused hub CONNECT (or a session closed by a revocation) with the refusal records. */
  record(
    identity: HubConnectIdentity,
    refusal: HubRefusal,
    options?: { closed?: boolean; transport?: 'https' | undefined },
  ): void;
  /** The IDs of the devices provisioned through a group. */
  devicesOfGroup(groupId: string): Promise<string[]>;
}

export function createRevocation(
  db: Kysely<Database>,
  provisioning: ProvisioningStore,
  logger: Logger,
): Revocation {
  const store = new RevocationStore(db);
  const service = new RevocationService({ store, provisioning });
  const record: Revocation['record'] = (identity, refusal, options = {}) => {
    const closed = options.closed === true;
    const leaf = identity.peerCertificates[0];
    provisioning
      .insertAttempt({
        time: nowIso(new Date()),
        registration_id: identity.username.deviceId,
        id_scope: '',
        transport: `hub-${options.transport ?? identity.transport}`,
        sha1: leaf?.sha1Thumbprint ?? null,
        sha256: leaf?.sha256Thumbprint ?? null,
        subject: leaf?.subject ?? null,
        issuer: leaf?.issuer ?? null,
        reason_code: refusal.reasonCode ?? 'ERR_HUB_NOT_AUTHORIZED',
        message: closed ? `live session closed: ${refusal.reason}` : refusal.reason,
        client_address: identity.remoteAddress ?? null,
      })
      .catch((err: unknown) => logger.warn({ err }, 'revocation: refusal not recorded'));
  };
  return {
    service,
    connectCheck: new RevocationConnectCheck(store, service),
    record,
    devicesOfGroup: (groupId) => store.devicesOfGroup(groupId),
  };
}

/**
 * Starts the sweep and points every source of revocation at it; resolves with the function
 * that stops it.
 */
export async function startRevocation(o: {
  revocation: Revocation;
  hub: SweptHub;
  logger: Logger;
  bus?: Bus;
  nodeId: string;
  sources: Array<{ onRevoked: ((reason: string, scope: RevocationScope) => void) | undefined }>;
}): Promise<{ sweep: SessionSweep; stop: () => Promise<void> }> {
  const sweep = new SessionSweep({
    hub: o.hub,
    devicesOfGroup: (groupId) => o.revocation.devicesOfGroup(groupId),
    logger: o.logger,
    ...(o.bus ? { bus: o.bus } : {}),
    nodeId: o.nodeId,
    onClosed: (session, refusal) => {
      if (session.identity) o.revocation.record(session.identity, refusal, { closed: true });
    },
  });
  await sweep.start();
  const revoke = (reason: string, scope: RevocationScope) => sweep.sweep(reason, scope);
  for (const source of [...o.sources, o.revocation.service]) source.onRevoked = revoke;
  return { sweep, stop: () => sweep.stop() };
}
