/**
 * Response schemas of the enrollment group operations (provisioning/rest-shapes.ts
 * `EnrollmentGroup`, `SigningX509Certificate`, `RevokedCertificate`) and of their CRLs
 * (revocation/revocation-service.ts `GroupRevocation`).
 */
import { arr, bool, dateTime, obj, page, str, strEnum } from './common.js';

/** A signing CA certificate entry; the certificate text is never returned. */
export const SIGNING_CERTIFICATE = obj({
  verified: bool,
  info: obj({ sha1Thumbprint: str, subject: str, notAfter: dateTime }),
  etag: str,
});

/** A certificate an imported CRL revokes. */
export const REVOKED_CERTIFICATE = obj({
  serialNumber: { type: 'string', description: 'Upper-case hex without leading zeros.' },
  issuer: str,
  revocationDate: dateTime,
});

export const ENROLLMENT_GROUP = obj(
  {
    id: str,
    displayName: str,
    enabled: bool,
    type: strEnum('iot', 'iotEdge'),
    attestation: {
      oneOf: [
        obj({
          type: strEnum('x509'),
          x509: obj({
            signingCertificates: obj({}, { primary: SIGNING_CERTIFICATE, secondary: SIGNING_CERTIFICATE }),
          }),
        }),
        obj({ type: strEnum('symmetricKey'), symmetricKey: obj({ primaryKey: str, secondaryKey: str }) }),
      ],
    },
    etag: str,
    idScope: str,
  },
  // X.509 groups, when revocation is on: what the group's imported CRLs revoke (may be empty).
  { revokedCertificates: arr(REVOKED_CERTIFICATE) },
);

export const ENROLLMENT_GROUP_PAGE = page(ENROLLMENT_GROUP);

/** `POST …/certificates/{entry}/generateVerificationCode`. */
export const VERIFICATION_CODE = obj({ verificationCode: str, expiresAt: dateTime });

/** `GET|POST /api/enrollmentGroups/{id}/crl`. */
export const GROUP_REVOCATION = obj({
  groupId: str,
  crls: arr(
    obj(
      { issuer: str, caSha256Thumbprint: str, thisUpdate: dateTime, importedAt: dateTime },
      { nextUpdate: dateTime },
    ),
  ),
  revokedCertificates: arr(REVOKED_CERTIFICATE),
});
