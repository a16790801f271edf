/**
 * The two certificate readers, for the differential fuzzer (packages/server/fuzz/fuzz-pki.ts):
 * the fast DER reader must agree with the general parser on every certificate it accepts.
 * Not part of the package's API.
 * @internal
 */
export { readCertificateFields } from './certificate-fields.js';
export { parseFully } from './certificate.js';
