/**
 * Certificate revocation lists (RFC 5280 §5): read a CRL (PEM or DER) and check it against the
 * CA certificates of an enrollment group — issuer name (§6.3.3 b), signature (§6.3.3 f) and
 * dates (§5.1.2.4–5) — before its serial numbers are trusted.
 */
import { webcrypto } from 'node:crypto';

import type { Certificate } from '@gatehouse/pki';
import * as x509 from '@peculiar/x509';

import { revocationError } from './errors.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** One revoked certificate of a CRL. */
export interface RevokedEntry {
  /** Upper-case hex without leading zeros (as `normalizeSerial` makes it). */
  serial: string;
  revokedAt: string;
}

/** A CRL that passed every check, with the group CA that issued it. */
export interface CheckedCrl {
  ca: Certificate;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  entries: RevokedEntry[];
  pem: string;
}

/** Serial numbers compare as integers: upper-case hex without leading zeros ("00A1" = "A1"). */
export function normalizeSerial(hex: string): string {
  const trimmed = hex
    .replace(/[^0-9a-fA-F]/g, '')
    .replace(/^0+/, '')
    .toUpperCase();
  return trimmed === '' ? '0' : trimmed;
}

/** Reads a CRL from a PEM text or DER bytes; throws ERR_CRL_EMPTY / ERR_CRL_MALFORMED. */
export function readCrl(body: Buffer | string | undefined | null): x509.X509Crl {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (!bytes || bytes.length === 0 || bytes.toString('latin1').trim() === '') {
    throw revocationError('ERR_CRL_EMPTY', 'The body is empty: send the CRL file (PEM or DER).');
  }
  const text = bytes.toString('latin1');
  const pem = /-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/.exec(text);
  try {
    if (pem) return new x509.X509Crl(pem[0]);
    if (text.includes('-----BEGIN')) {
      const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1] ?? 'unknown';
      throw new Error(`a PEM '${label}' block, not 'X509 CRL'`);
    }
    return new x509.X509Crl(new Uint8Array(bytes));
  } catch (cause) {
    throw revocationError(
      'ERR_CRL_MALFORMED',
      `The body is not a certificate revocation list: ${cause instanceof Error ? cause.message : String(cause)}.`,
      { cause },
    );
  }
}

/**
 * Checks `crl` against the group's CA certificates at `now`: the issuer must be one of them
 * (by name), its signature must verify with that CA's key, thisUpdate ≤ now and, when present,
 * nextUpdate ≥ now.
 */
export async function checkCrl(
  crl: x509.X509Crl,
  cas: readonly Certificate[],
  now: Date,
): Promise<CheckedCrl> {
  if (cas.length === 0) {
    throw revocationError('ERR_CRL_NO_CA', 'The enrollment group has no CA certificate: upload it first.');
  }
  const issuer = crl.issuer;
  const named = cas.filter((ca) => new x509.X509Certificate(ca.der).subject === issuer);
  if (named.length === 0) {
    throw revocationError(
      'ERR_CRL_WRONG_ISSUER',
      `The CRL was issued by '${issuer}', which is not a CA certificate of this group (${cas
        .map((ca) => `'${ca.subject}'`)
        .join(', ')}).`,
    );
  }
  let ca: Certificate | undefined;
  for (const candidate of named) {
    if (await crl.verify({ publicKey: new x509.X509Certificate(candidate.der) }).catch(() => false)) {
      ca = candidate;
      break;
    }
  }
  if (!ca) {
    throw revocationError(
      'ERR_CRL_BAD_SIGNATURE',
      `The CRL names '${issuer}' as issuer, but its signature does not verify with that CA's public key.`,
    );
  }
  if (crl.thisUpdate.getTime() > now.getTime()) {
    throw revocationError(
      'ERR_CRL_NOT_YET_VALID',
      `The CRL's thisUpdate is ${crl.thisUpdate.toISOString()}, after the server's time ${now.toISOString()}.`,
    );
  }
  const nextUpdate = crl.nextUpdate;
  if (nextUpdate && nextUpdate.getTime() < now.getTime()) {
    throw revocationError(
      'ERR_CRL_EXPIRED',
      `The CRL's nextUpdate was ${nextUpdate.toISOString()}: it is out of date, generate a fresh one.`,
    );
  }
  return {
    ca,
    thisUpdate: crl.thisUpdate,
    nextUpdate,
    entries: crl.entries.map((e) => ({
      serial: normalizeSerial(e.serialNumber),
      revokedAt: e.revocationDate.toISOString(),
    })),
    pem: crl.toString('pem'),
  };
}
