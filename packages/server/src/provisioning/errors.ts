import { errorFactory, type ErrorSpec } from '../errors.js';

/**
 * Provisioning error codes. Device-visible refusals carry the DPS `errorCode`
 * the device receives on `$dps/registrations/res/<status>/…` (PROTOCOL.md §1.9);
 * the device only ever sees the DPS error body, while the stable `code` and the
 * full sentence are kept in the refusal diagnostics (`/api/provisioning/attempts`).
 */
export const PROVISIONING_ERRORS = {
  // Device-visible refusals (attestation).
  ERR_DPS_NO_CREDENTIALS: {
    status: 401,
    dpsErrorCode: 401002,
    summary: 'The device presented neither a client certificate nor a SAS token.',
    fix: 'Pass the device certificate and key to the security client (X509Security) or use a SAS token.',
  },
  ERR_DPS_WRONG_ID_SCOPE: {
    status: 401,
    dpsErrorCode: 401000,
    summary: "The ID scope in the request is not this application's ID scope.",
    fix: 'Use the ID scope printed by `gatehouse serve` or returned by `GET /api/application`.',
  },
  ERR_DPS_CN_MISMATCH: {
    status: 401,
    dpsErrorCode: 401002,
    summary: 'The subject CN of the device certificate differs from the registration ID.',
    fix: "Register with the certificate's CN as registration ID, or issue a certificate whose CN is the device ID.",
  },
  ERR_DPS_CERTIFICATE_EXPIRED: {
    status: 401,
    dpsErrorCode: 401002,
    summary: 'A certificate in the device chain has expired.',
    fix: 'Issue a new certificate (`gatehouse cert device …`); create_test_cert.js certificates last one day.',
  },
  ERR_DPS_CERTIFICATE_REVOKED: {
    status: 401,
    dpsErrorCode: 401002,
    summary: 'A certificate in the device chain is on a CRL imported for an enrollment group.',
    fix: 'Issue the device a new certificate; see `GET /api/enrollmentGroups/{id}/crl` for the revoked serials.',
  },
  ERR_DPS_CERTIFICATE_NOT_YET_VALID: {
    status: 401,
    dpsErrorCode: 401002,
    summary: 'A certificate in the device chain is not valid yet.',
    fix: 'Check the clocks of the machine that made the certificate and of the server.',
  },
  ERR_DPS_CHAIN_INVALID: {
    status: 401,
    dpsErrorCode: 401002,
    summary:
      'The device chain is broken: a bad signature, an issuer that is not a CA, a path length or EKU violation.',
    fix: 'Check the chain with `gatehouse cert verify <leaf> --ca <root> --chain <fullchain>`; reissue the broken certificate.',
  },
  ERR_DPS_INTERMEDIATE_MISSING: {
    status: 401,
    dpsErrorCode: 401002,
    summary: 'The device certificate was issued by a CA the device did not present and no enrollment holds.',
    fix: 'Load `<device>_fullchain.pem` as the device certificate (leaf + intermediates), or upload the intermediate to a group.',
  },
  ERR_DPS_NOT_ENROLLED: {
    status: 401,
    dpsErrorCode: 401002,
    summary: 'No individual enrollment or enrollment group matches the device certificate.',
    fix: 'Upload the root or intermediate CA to an enrollment group and verify it, or create an individual enrollment.',
  },
  ERR_DPS_SELF_SIGNED_NOT_ENROLLED: {
    status: 401,
    dpsErrorCode: 401002,
    summary:
      'A self-signed device certificate is accepted only through an individual enrollment holding its thumbprint.',
    fix: "Enroll the certificate on the device's individual enrollment (`PUT /api/devices/{id}/attestation`).",
  },
  ERR_DPS_CERTIFICATE_MISMATCH: {
    status: 401,
    dpsErrorCode: 401002,
    summary:
      'The device has an individual enrollment, but the certificate is neither its primary nor its secondary certificate nor issued by one.',
    fix: "Upload this certificate as the primary or secondary of the device's individual enrollment, or use the enrolled one.",
  },
  ERR_DPS_CA_NOT_VERIFIED: {
    status: 401,
    dpsErrorCode: 401002,
    summary:
      'The chain reaches an enrollment group certificate, but no verified certificate: proof of possession is missing.',
    fix: 'Generate a verification code, run `gatehouse cert verification --ca … --key … --nonce <code>` and upload verification_cert.pem.',
  },
  ERR_DPS_GROUP_DISABLED: {
    status: 401,
    dpsErrorCode: 401000,
    summary: 'The enrollment group that matches the device is disabled.',
    fix: 'Enable the group (`PATCH /api/enrollmentGroups/{id}` with `{"enabled": true}`).',
  },
  ERR_DPS_DEVICE_DISABLED: {
    status: 401,
    dpsErrorCode: 401000,
    summary: 'The device is blocked (disabled), so it may not provision.',
    fix: 'Unblock the device (`PATCH /api/devices/{id}` with `{"enabled": true}`).',
  },
  ERR_DPS_SAS_MALFORMED: {
    status: 401,
    dpsErrorCode: 401000,
    summary:
      'The SAS token is not `SharedAccessSignature sr=…&sig=…&se=…&skn=registration` (a field missing or repeated, bad base64, a bad expiry).',
    fix: 'Let the SDK build the token (SymmetricKeySecurityClient), or follow PROTOCOL: sr = <idScope>/registrations/<registrationId>, skn = registration.',
  },
  ERR_DPS_SAS_EXPIRED: {
    status: 401,
    dpsErrorCode: 401000,
    summary: 'The SAS token has expired (its `se` is in the past).',
    fix: 'Create a fresh token; check the device clock.',
  },
  ERR_DPS_SAS_WRONG_RESOURCE: {
    status: 401,
    dpsErrorCode: 401000,
    summary:
      'The SAS token was made for another ID scope or registration ID (`sr`), or not with key name `registration`.',
    fix: 'Sign `<idScope>/registrations/<registrationId>` of this very registration, with skn=registration.',
  },
  ERR_DPS_SAS_BAD_SIGNATURE: {
    status: 401,
    dpsErrorCode: 401000,
    summary:
      'The SAS signature matches no key of the enrollment (for a group: no key derived from the group keys for this registration ID).',
    fix: 'For a group, sign with the derived device key (`gatehouse keys derive --group-key <key> --id <registrationId>`), not the group key; for an individual enrollment, use its primary or secondary key.',
  },
  ERR_DPS_SAS_GROUP_KEY_USED: {
    status: 401,
    dpsErrorCode: 401000,
    summary:
      'The SAS token was signed with an enrollment group key itself instead of the key derived from it for this registration ID.',
    fix: 'Derive the device key: `gatehouse keys derive --group-key <key> --id <registrationId>` (HMAC-SHA256 of the ID with the group key).',
  },
  ERR_DPS_ATTESTATION_MISMATCH: {
    status: 401,
    dpsErrorCode: 401000,
    summary:
      'The device used an attestation mechanism its enrollment does not allow (e.g. SAS for an X.509 enrollment).',
    fix: 'Use the mechanism the enrollment is configured for, or change the enrollment.',
  },
  // Malformed requests.
  ERR_DPS_MALFORMED_REQUEST: {
    status: 400,
    dpsErrorCode: 400004,
    summary: 'The register request is not a JSON object with the registration ID of the connection.',
    fix: 'Send `{"registrationId":"<id>"}` (plus an optional `payload` object) with the registration ID of the connection.',
  },
  ERR_DPS_INVALID_REGISTRATION_ID: {
    status: 400,
    dpsErrorCode: 400004,
    summary:
      'The registration ID breaks the allowed pattern (letters, digits, - . _ :, at most 128 characters).',
    fix: 'Use letters, digits and `- . _ :` only, at most 128 characters.',
  },
  ERR_DPS_UNKNOWN_OPERATION: {
    status: 404,
    dpsErrorCode: 404201,
    summary: 'The operation ID is unknown for this registration.',
    fix: 'Register again; poll only the operation ID the register answer returned, on the same credential.',
  },

  // REST: enrollment groups and certificates.
  ERR_GROUP_NOT_FOUND: { status: 404, summary: 'No enrollment group has this ID.' },
  ERR_GROUP_INVALID: { status: 422, summary: 'The enrollment group body fails validation.' },
  ERR_GROUP_ATTESTATION_MISMATCH: {
    status: 422,
    summary:
      "The operation does not apply to the group's attestation type (e.g. certificates on a SAS group).",
  },
  ERR_CERT_MALFORMED: {
    status: 422,
    summary: 'The uploaded text is not a certificate (PEM, base64 of PEM, or base64 DER).',
  },
  ERR_CERT_NOT_CA: {
    status: 422,
    summary:
      'A group certificate must be a CA certificate (basicConstraints CA:true); a device certificate belongs in an individual enrollment.',
  },
  ERR_CERT_EXPIRED: { status: 422, summary: 'The uploaded certificate has expired.' },
  ERR_CERT_IN_USE: {
    status: 409,
    summary:
      'The certificate already backs another enrollment group entry; one CA certificate cannot back two groups.',
  },
  ERR_CERT_NOT_FOUND: { status: 404, summary: 'The group has no certificate in this entry.' },
  ERR_VERIFICATION_NO_CODE: {
    status: 409,
    summary:
      'There is no outstanding verification code for this certificate (none generated, or already spent).',
  },
  ERR_VERIFICATION_CODE_EXPIRED: {
    status: 409,
    summary: 'The verification code has expired (codes live one hour): generate a new one.',
  },
  ERR_VERIFICATION_FAILED: {
    status: 422,
    summary:
      'The verification certificate does not prove possession: wrong CN, not signed by the CA key, or outside its validity.',
  },
  ERR_ALREADY_VERIFIED: { status: 409, summary: 'The certificate is already verified.' },

  // REST: individual enrollments.
  ERR_ATTESTATION_NOT_FOUND: { status: 404, summary: 'The device has no individual enrollment.' },
  ERR_ATTESTATION_INVALID: { status: 422, summary: 'The attestation body fails validation.' },
  ERR_ATTESTATION_CN_MISMATCH: {
    status: 422,
    summary: 'A certificate of an individual enrollment must have the device ID as its subject CN.',
  },
  ERR_DEVICE_NOT_FOUND: { status: 404, summary: 'No device has this ID.' },
} as const satisfies Record<string, ErrorSpec>;

export type ProvisioningErrorCode = keyof typeof PROVISIONING_ERRORS;
export const provisioningError = errorFactory(PROVISIONING_ERRORS);
