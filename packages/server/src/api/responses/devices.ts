/**
 * Response schemas of the device operations (hub/hub-api.ts `Device`), and of their individual
 * enrollments and credentials (provisioning/individual-enrollments.ts).
 */
import { bool, dateTime, nullable, obj, page, str, strEnum } from './common.js';

export const DEVICE = obj(
  {
    id: str,
    etag: str,
    displayName: str,
    enabled: bool,
    provisioned: bool,
    simulated: bool,
    status: obj({ connected: bool, lastActivity: nullable(dateTime), lastConnected: nullable(dateTime) }),
  },
  { template: str },
);

export const DEVICE_PAGE = page(DEVICE);

/** A client certificate of an individual enrollment: never the certificate text. */
const CLIENT_CERTIFICATE = obj({
  info: obj({ sha1Thumbprint: str, sha256Thumbprint: str, subject: str, notAfter: dateTime }),
});

const CLIENT_CERTIFICATES = obj({ primary: CLIENT_CERTIFICATE }, { secondary: CLIENT_CERTIFICATE });

const SYMMETRIC_KEYS = obj({ primaryKey: str, secondaryKey: str });

/** `GET|PUT /api/devices/{id}/attestation` (individual-enrollments.ts `Attestation`). */
export const ATTESTATION = {
  oneOf: [
    obj({ type: strEnum('x509'), x509: obj({ clientCertificates: CLIENT_CERTIFICATES }) }),
    obj({ type: strEnum('symmetricKey'), symmetricKey: SYMMETRIC_KEYS }),
  ],
};

/**
 * `GET /api/devices/{id}/credentials` (individual-enrollments.ts `DeviceCredentials`): `x509` or
 * `symmetricKey` of an individual enrollment, the keys derived from the device's SAS group, or
 * neither (a device of an X.509 group).
 */
export const DEVICE_CREDENTIALS = obj(
  { idScope: str },
  { x509: obj({ clientCertificates: CLIENT_CERTIFICATES }), symmetricKey: SYMMETRIC_KEYS },
);
