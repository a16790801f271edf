/** Response schema of `GET /api/certificates` (provisioning/rest-shapes.ts `InventoryCertificate`). */
import { bool, dateTime, obj, page, str, strEnum } from './common.js';

export const INVENTORY_CERTIFICATE = obj(
  {
    kind: strEnum('enrollmentGroup', 'individualEnrollment'),
    owner: { type: 'string', description: 'The enrollment group ID or the device ID.' },
    ownerDisplayName: str,
    entry: strEnum('primary', 'secondary'),
    subject: str,
    issuer: str,
    sha1Thumbprint: str,
    notBefore: dateTime,
    notAfter: dateTime,
    daysLeft: { type: 'integer', description: 'Whole days until notAfter (negative once expired).' },
    status: strEnum('valid', 'expiringSoon', 'expired'),
  },
  {
    /** Enrollment group CAs only. */
    verified: bool,
    /** Only `true`, on a certificate an imported CRL revokes. */
    revoked: { type: 'boolean', enum: [true] },
  },
);

export const INVENTORY_CERTIFICATE_PAGE = page(INVENTORY_CERTIFICATE);
