import { errorFactory, type ErrorSpec } from '../errors.js';

/**
 * Revocation error codes: why a certificate revocation list was refused (REST, CLI, UI), and
 * why a hub connection was refused or closed (kept with the refused connection attempts,
 * `GET /api/provisioning/attempts`; the device itself only sees CONNACK 5).
 */
export const REVOCATION_ERRORS = {
  ERR_CRL_EMPTY: {
    status: 400,
    summary: 'The CRL upload had an empty body.',
    fix: 'Send the CRL file (PEM or DER) as the request body: `gatehouse group crl <id> <file>`.',
  },
  ERR_CRL_MALFORMED: {
    status: 400,
    summary: 'The body is not a certificate revocation list (neither a PEM `X509 CRL` nor DER).',
    fix: 'Export the CRL of the CA (`openssl ca -gencrl -out ca.crl`) and upload that file.',
  },
  ERR_CRL_NO_CA: {
    status: 400,
    summary: 'The enrollment group has no CA certificate to check the CRL against.',
    fix: "Upload the group's CA certificate first, then its CRL.",
  },
  ERR_CRL_WRONG_ISSUER: {
    status: 400,
    summary: "The CRL's issuer is neither the primary nor the secondary CA certificate of the group.",
    fix: 'Upload the CRL made by the CA this group holds (RFC 5280 §6.3.3: the CRL issuer must be the certificate issuer).',
  },
  ERR_CRL_BAD_SIGNATURE: {
    status: 400,
    summary: "The CRL names the group's CA as issuer, but its signature does not verify with the CA's key.",
    fix: 'Make the CRL with the private key of the CA the group holds.',
  },
  ERR_CRL_EXPIRED: {
    status: 400,
    summary: 'The CRL is out of date: its nextUpdate has passed.',
    fix: 'Generate a fresh CRL (`openssl ca -gencrl`) and upload it.',
  },
  ERR_CRL_NOT_YET_VALID: {
    status: 400,
    summary: 'The CRL is not valid yet: its thisUpdate is in the future.',
    fix: 'Check the clocks of the CA machine and of the server.',
  },
  ERR_CRL_STALE: {
    status: 409,
    summary: 'The CRL is older than the one the group already holds (an earlier thisUpdate).',
    fix: 'Upload the newest CRL of the CA; an older one would un-revoke certificates.',
  },
  ERR_HUB_CERTIFICATE_REVOKED: {
    status: 401,
    summary: 'A certificate of the device chain is on a CRL imported for an enrollment group.',
    fix: 'Issue the device a new certificate; the revoked one never connects again.',
  },
  ERR_HUB_DEVICE_DISABLED: {
    status: 401,
    summary: 'The device is disabled (or deleted): its connection was refused or closed.',
    fix: 'Enable the device (`PATCH /api/devices/{id}` with `enabled: true`).',
  },
  ERR_HUB_GROUP_DISABLED: {
    status: 401,
    summary: 'The enrollment group the device was provisioned through is disabled.',
    fix: 'Enable the enrollment group, or move the device to an individual enrollment.',
  },
  ERR_HUB_NOT_AUTHORIZED: {
    status: 401,
    summary:
      'The hub refused the device credentials (unknown device, wrong key or token, a certificate that no longer matches or chains to a verified CA).',
    fix: 'Read the message of the attempt: it names the check that failed.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type RevocationErrorCode = keyof typeof REVOCATION_ERRORS;

export const revocationError = errorFactory(REVOCATION_ERRORS);
