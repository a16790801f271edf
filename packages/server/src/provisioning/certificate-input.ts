import { readCertificates, type Certificate } from '@gatehouse/pki';
import { provisioningError } from './errors.js';

/**
 * Parse a certificate uploaded through the REST API: PEM, base64 of PEM (what
 * the Azure CLI sends, CENTRAL_API.md §2.1) or base64 DER. The first
 * certificate is the one meant; junk around PEM blocks is ignored.
 */
export function parseUploadedCertificate(text: unknown, field = 'certificate'): Certificate {
  if (typeof text !== 'string' || text.trim() === '') {
    throw provisioningError(
      'ERR_CERT_MALFORMED',
      `'${field}' must be a non-empty string holding a PEM certificate or its base64.`,
    );
  }
  try {
    const certs = readCertificates(text);
    const first = certs[0];
    if (!first) throw new Error('no certificate');
    return first;
  } catch (cause) {
    throw provisioningError(
      'ERR_CERT_MALFORMED',
      `'${field}' is not a certificate: expected PEM, base64 of PEM, or base64 DER.`,
      { cause },
    );
  }
}
