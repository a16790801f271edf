import { randomBytes } from 'node:crypto';

/**
 * A random serial number as hex: 20 octets, the most RFC 5280 §4.1.2.2 allows ("Conforming CAs
 * MUST NOT use serialNumber values longer than 20 octets"), positive (high bit of the first
 * octet cleared, so DER needs no leading zero) and non-zero (first octet never 0, so the encoding
 * keeps all 20 octets). 159 random bits also satisfy the CA/Browser Forum's 64-bit minimum.
 */
export function randomSerialNumber(): string {
  const octets = randomBytes(20);
  octets[0] = (octets[0] ?? 0) & 0x7f || 0x01;
  return octets.toString('hex');
}
