/** Response schema of `GET /api/provisioning/attempts` (provisioning/attempts.ts `ProvisioningAttempt`). */
import { dateTime, int, nullable, obj, page, str } from './common.js';

export const PROVISIONING_ATTEMPT = obj(
  {
    id: int,
    time: dateTime,
    registrationId: str,
    idScope: str,
    transport: str,
    reason: obj({ code: str, message: str }, { fix: str }),
  },
  {
    clientAddress: str,
    // Present when the device showed a certificate (its SHA-256 thumbprint is then always known).
    certificate: obj({
      subject: nullable(str),
      issuer: nullable(str),
      sha1Thumbprint: nullable(str),
      sha256Thumbprint: str,
    }),
  },
);

export const PROVISIONING_ATTEMPT_PAGE = page(PROVISIONING_ATTEMPT);
