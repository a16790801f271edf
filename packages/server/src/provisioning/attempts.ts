import type { ErrorSpec, GatehouseError } from '../errors.js';
import { nowIso } from '../util.js';
import type { DpsRequestContext } from './dps-handler.js';
import { REVOCATION_ERRORS } from '../revocation/errors.js';
import { PROVISIONING_ERRORS } from './errors.js';
import type { AttemptRow, ProvisioningStore } from './provisioning-store.js';

/** One refused provisioning attempt, as `GET /api/provisioning/attempts` returns it. */
export interface ProvisioningAttempt {
  id: number;
  time: string;
  registrationId: string;
  idScope: string;
  transport: string;
  /** Where the device connected from (behind a PROXY v2 load balancer: the device, not the balancer). */
  clientAddress?: string;
  certificate?: {
    subject: string | null;
    issuer: string | null;
    sha1Thumbprint: string | null;
    sha256Thumbprint: string | null;
  };
  /** `fix`: what to do about it, from the error table (docs/errors.md). */
  reason: { code: string; message: string; fix?: string };
}

/**
 * Refusal diagnostics. Azure answers every refusal with an opaque 401002; we
 * keep the reason for the operator, while the device still sees only the DPS
 * error body.
 */
export class ProvisioningAttempts {
  constructor(
    private readonly store: ProvisioningStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(ctx: DpsRequestContext, error: Pick<GatehouseError, 'code' | 'message'>): Promise<void> {
    const leaf = ctx.clientCertificates[0];
    await this.store.insertAttempt({
      time: nowIso(this.now()),
      registration_id: ctx.registrationId,
      id_scope: ctx.idScope,
      transport: ctx.transport,
      sha1: leaf?.sha1Thumbprint ?? null,
      sha256: leaf?.sha256Thumbprint ?? null,
      subject: leaf?.subject ?? null,
      issuer: leaf?.issuer ?? null,
      reason_code: error.code,
      message: error.message,
      client_address: ctx.remoteAddress ?? null,
    });
  }

  async list(
    options: { registrationId?: string; limit?: number; before?: number } = {},
  ): Promise<ProvisioningAttempt[]> {
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    const rows = await this.store.listAttempts({ ...options, limit });
    return rows.map(toApi);
  }
}

function toApi(r: AttemptRow): ProvisioningAttempt {
  const a: ProvisioningAttempt = {
    id: Number(r.id),
    time: r.time,
    registrationId: r.registration_id,
    idScope: r.id_scope,
    transport: r.transport,
    ...(r.client_address !== null ? { clientAddress: r.client_address } : {}),
    reason: { code: r.reason_code, message: r.message, ...fixOf(r.reason_code) },
  };
  if (r.sha256)
    a.certificate = {
      subject: r.subject,
      issuer: r.issuer,
      sha1Thumbprint: r.sha1,
      sha256Thumbprint: r.sha256,
    };
  return a;
}

/** The error table's fix for a refusal code, so the operator sees what to do next. */
function fixOf(code: string): { fix?: string } {
  // Hub refusals (transport hub-*) carry the revocation context's codes.
  const spec = ({ ...PROVISIONING_ERRORS, ...REVOCATION_ERRORS } as Record<string, ErrorSpec>)[code];
  return spec?.fix !== undefined ? { fix: spec.fix } : {};
}
