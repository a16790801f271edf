import { randomUUID } from 'node:crypto';
import { dpsErrorBody, isValidRegistrationId, parseRegisterRequest } from '@gatehouse/protocol';
import type { Logger } from 'pino';
import { GatehouseError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { newEtag, nowIso, randomHex } from '../util.js';
import type { AttestationMechanism, AttestationOutcome } from './attestation/attestation.js';
import type { ProvisioningAttempts } from './attempts.js';
import type { DpsHandler, DpsReply, DpsRequestContext } from './dps-handler.js';
import { provisioningError } from './errors.js';
import type { ProvisioningStore, RegistrationRow } from './provisioning-store.js';
import { currentIdScope, type IdScopeSource } from './id-scope.js';

export interface RegistrationServiceOptions {
  store: ProvisioningStore;
  attempts: ProvisioningAttempts;
  mechanisms: AttestationMechanism[];
  /** The application's ID scope (a function when an import may change it while running). */
  idScope: IdScopeSource;
  /** Returned to devices as `assignedHub` (PROTOCOL.md §9: what they connect to). */
  hostName: string;
  /** Seconds a device waits before polling (`retry-after`); fractions allowed (PROTOCOL.md §1.5). */
  retryAfterSeconds: number;
  logger: Logger;
  metrics?: Metrics;
  now?: () => Date;
  /** Called after a successful assignment (templates, events). */
  onAssigned?: (outcome: AttestationOutcome, payload: unknown) => Promise<void> | void;
  /**
   * The device template for an IoT Plug and Play model ID (the payload's `modelId`, or the
   * legacy IoT Central `iotcModelId`); a device without a template gets it. Undefined: none.
   */
  resolveTemplate?: (modelId: string) => Promise<string | undefined>;
}

/** The model ID a device announces in its registration payload (`modelId`, legacy `iotcModelId`). */
export function payloadModelId(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  const record = payload as Record<string, unknown>;
  for (const key of ['modelId', 'iotcModelId']) {
    const value = record[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/**
 * The DPS registration flow (PROTOCOL.md §1.4–§1.7): attest, assign to the hub
 * (create or update the device), answer 202 with an operation ID, then answer
 * the operation-status poll with the final `registrationState`. Every refusal is
 * recorded in the diagnostics and answered with a DPS error body.
 */
export class RegistrationService implements DpsHandler {
  private readonly now: () => Date;

  constructor(private readonly o: RegistrationServiceOptions) {
    this.now = o.now ?? (() => new Date());
  }

  async register(ctx: DpsRequestContext, payload: Buffer): Promise<DpsReply> {
    try {
      let request: { registrationId: string; payload?: unknown };
      try {
        request = parseRegisterRequest(payload);
      } catch (cause) {
        throw provisioningError(
          'ERR_DPS_MALFORMED_REQUEST',
          `The register request is not valid: ${(cause as Error).message}`,
          { cause },
        );
      }
      this.checkRequest(ctx, request.registrationId);
      const outcome = await this.attest(ctx);
      const row = await this.assign(ctx, outcome, request.payload);
      this.o.metrics
        ?.counter('gatehouse_dps_registrations_total', 'Provisioning registrations by result')
        .inc({ result: 'assigned' });
      return {
        status: 202,
        body: { operationId: row.operation_id, status: 'assigning' },
        retryAfterSeconds: this.o.retryAfterSeconds,
      };
    } catch (err) {
      return this.refuse(ctx, err);
    }
  }

  async operationStatus(ctx: DpsRequestContext, operationId: string): Promise<DpsReply> {
    try {
      this.checkRequest(ctx, ctx.registrationId);
      const row = await this.o.store.getRegistration(ctx.registrationId);
      if (!row || row.operation_id !== operationId) {
        throw provisioningError(
          'ERR_DPS_UNKNOWN_OPERATION',
          `Operation '${operationId}' is unknown for registration '${ctx.registrationId}'.`,
        );
      }
      const result = JSON.parse(row.result) as Record<string, unknown> & { credential?: string };
      const { credential, ...registrationState } = result;
      const mechanism = this.o.mechanisms.find((m) => m.type === row.attestation_type);
      if (!mechanism || !credential || !(await mechanism.sameCredential(ctx, credential))) {
        throw provisioningError(
          'ERR_DPS_UNKNOWN_OPERATION',
          `Operation '${operationId}' belongs to another credential of '${ctx.registrationId}'.`,
        );
      }
      return { status: 200, body: { operationId, status: row.status, registrationState } };
    } catch (err) {
      return this.refuse(ctx, err);
    }
  }

  async recordViolation(ctx: DpsRequestContext, code: string, message: string): Promise<void> {
    this.o.logger.warn(
      { registrationId: ctx.registrationId, code, reason: message },
      'provisioning connection closed',
    );
    await this.o.attempts.record(ctx, { code, message });
  }

  private checkRequest(ctx: DpsRequestContext, bodyRegistrationId: string): void {
    if (!isValidRegistrationId(ctx.registrationId)) {
      throw provisioningError(
        'ERR_DPS_INVALID_REGISTRATION_ID',
        `Registration ID '${ctx.registrationId}' is invalid: use letters, digits, - . _ :, at most 128 characters, ending with a letter, a digit or -.`,
      );
    }
    if (bodyRegistrationId !== ctx.registrationId) {
      throw provisioningError(
        'ERR_DPS_MALFORMED_REQUEST',
        `The request body names registration '${bodyRegistrationId}', but the connection is for '${ctx.registrationId}'.`,
      );
    }
    const idScope = currentIdScope(this.o.idScope);
    if (ctx.idScope !== idScope) {
      throw provisioningError(
        'ERR_DPS_WRONG_ID_SCOPE',
        `ID scope '${ctx.idScope}' is not this application's ID scope (${idScope}).`,
      );
    }
  }

  private async attest(ctx: DpsRequestContext): Promise<AttestationOutcome> {
    const mechanism = this.o.mechanisms.find((m) => m.applies(ctx));
    if (!mechanism) {
      if (ctx.sasToken !== undefined) {
        throw provisioningError(
          'ERR_DPS_ATTESTATION_MISMATCH',
          'The device sent a SAS token, but symmetric-key attestation is not enabled on this server.',
        );
      }
      throw provisioningError(
        'ERR_DPS_NO_CREDENTIALS',
        'The device presented neither a client certificate nor a SAS token.',
      );
    }
    return mechanism.attest(ctx);
  }

  private async assign(
    ctx: DpsRequestContext,
    outcome: AttestationOutcome,
    payload: unknown,
  ): Promise<RegistrationRow> {
    const now = nowIso(this.now());
    const previous = await this.o.store.getRegistration(ctx.registrationId);
    const existed = outcome.deviceExisted ?? (await this.o.store.getDevice(outcome.deviceId)) !== undefined;
    // Re-registration to the same hub keeps the initial assignment; a changed
    // host name means the device data moved with it (PROTOCOL.md §1.7).
    const substatus =
      !previous || previous.assigned_hub === this.o.hostName ? 'initialAssignment' : 'deviceDataMigrated';
    const operationId = `5.${randomHex(8).toLowerCase()}.${randomUUID()}`;
    const etag = newEtag();
    const created = previous?.created_at ?? now;
    const registrationState: Record<string, unknown> = {
      ...outcome.registrationResult,
      registrationId: ctx.registrationId,
      createdDateTimeUtc: created,
      assignedHub: this.o.hostName,
      deviceId: outcome.deviceId,
      status: 'assigned',
      substatus,
      lastUpdatedDateTimeUtc: now,
      etag,
    };
    if (payload !== undefined) registrationState['payload'] = payload;
    const auth = outcome.deviceAuth;
    const authColumns =
      auth.type === 'x509Thumbprint'
        ? {
            auth_type: 'x509Thumbprint',
            x509_primary_sha1: auth.primary.sha1,
            x509_primary_sha256: auth.primary.sha256,
            x509_secondary_sha1: auth.secondary.sha1,
            x509_secondary_sha256: auth.secondary.sha256,
            sas_primary_key: null,
            sas_secondary_key: null,
          }
        : {
            auth_type: 'sas',
            x509_primary_sha1: null,
            x509_primary_sha256: null,
            x509_secondary_sha1: null,
            x509_secondary_sha256: null,
            sas_primary_key: auth.primaryKey,
            sas_secondary_key: auth.secondaryKey,
          };
    const groupId = outcome.enrollment.kind === 'group' ? outcome.enrollment.groupId : null;
    const row = {
      registration_id: ctx.registrationId,
      device_id: outcome.deviceId,
      status: 'assigned',
      substatus,
      enrollment_group_id: groupId,
      attestation_type: outcome.attestationType,
      assigned_hub: this.o.hostName,
      operation_id: operationId,
      payload: payload === undefined ? null : JSON.stringify(payload),
      result: JSON.stringify({ ...registrationState, credential: outcome.credential }),
      etag,
      created_at: created,
      updated_at: now,
    };
    await this.o.store.saveAssignment(
      row,
      {
        id: outcome.deviceId,
        display_name: outcome.deviceId,
        template: null,
        enabled: 1,
        provisioned: 1,
        simulated: 0,
        ...authColumns,
        enrollment_group_id: groupId,
        assigned_hub: this.o.hostName,
        etag: newEtag(),
        created_at: now,
        updated_at: now,
      },
      {
        ...authColumns,
        provisioned: 1,
        enrollment_group_id: groupId,
        assigned_hub: this.o.hostName,
        etag: newEtag(),
        updated_at: now,
      },
    );
    const template = await this.assignTemplate(outcome.deviceId, payload, now);
    this.o.logger.info(
      {
        registrationId: ctx.registrationId,
        deviceId: outcome.deviceId,
        enrollment: outcome.enrollment,
        transport: ctx.transport,
        remoteAddress: ctx.remoteAddress,
        existed,
        ...(template !== undefined ? { template } : {}),
      },
      'device provisioned',
    );
    await this.o.onAssigned?.(outcome, payload);
    return row;
  }

  /** Gives a device without a template the one of its announced model; never fails the registration. */
  private async assignTemplate(deviceId: string, payload: unknown, now: string): Promise<string | undefined> {
    const modelId = payloadModelId(payload);
    if (modelId === undefined || !this.o.resolveTemplate) return undefined;
    try {
      const template = await this.o.resolveTemplate(modelId);
      if (template === undefined) return undefined;
      return (await this.o.store.assignTemplateIfUnset(deviceId, template, now)) ? template : undefined;
    } catch (err) {
      this.o.logger.warn({ err, deviceId, modelId }, 'device template not assigned');
      return undefined;
    }
  }

  private async refuse(ctx: DpsRequestContext, err: unknown): Promise<DpsReply> {
    const trackingId = randomUUID();
    if (err instanceof GatehouseError && err.dpsErrorCode !== undefined) {
      this.o.metrics
        ?.counter('gatehouse_dps_registrations_total', 'Provisioning registrations by result')
        .inc({ result: 'refused' });
      this.o.logger.warn(
        {
          registrationId: ctx.registrationId,
          code: err.code,
          trackingId,
          reason: err.message,
          transport: ctx.transport,
          remoteAddress: ctx.remoteAddress,
        },
        'provisioning refused',
      );
      try {
        await this.o.attempts.record(ctx, err);
      } catch (recordErr) {
        this.o.logger.error({ err: recordErr }, 'could not record the refused attempt');
      }
      // The device sees only the DPS error body; the reason stays in the diagnostics.
      const message = err.status === 401 ? 'Unauthorized' : err.message;
      return {
        status: err.status,
        body: dpsErrorBody(err.dpsErrorCode, message, trackingId) as unknown as Record<string, unknown>,
      };
    }
    this.o.logger.error(
      { err, registrationId: ctx.registrationId, trackingId },
      'provisioning failed unexpectedly',
    );
    return {
      status: 500,
      body: dpsErrorBody(500000, 'Internal server error', trackingId) as unknown as Record<string, unknown>,
      retryAfterSeconds: 5,
    };
  }
}
