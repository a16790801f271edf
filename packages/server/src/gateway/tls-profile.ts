/**
 * The TLS settings of every device listener (HARDENING.md §4, target T1): Mozilla's
 * "intermediate" profile (guidelines 6.0): TLS 1.2 and 1.3 only; on TLS 1.2 only ECDHE with
 * AES-GCM or ChaCha20-Poly1305 (no CBC, no RSA key exchange, no DHE); the three TLS 1.3
 * suites; curves X25519, P-256 and P-384 (with X25519MLKEM768 first where OpenSSL has it, i.e.
 * Node 24's OpenSSL 3.5); the client's cipher preference; and no renegotiation (a TLS 1.2
 * client asking for one is disconnected). The Azure SDKs need nothing outside it: they set no
 * versions or ciphers of their own, and connect over TLS 1.3 or with ECDHE-ECDSA-AES128-GCM
 * on TLS 1.2.
 */
import { constants } from 'node:crypto';
import { createSecureContext, type SecureVersion } from 'node:tls';

const TLS12_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];
const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

const CURVES = 'X25519:P-256:P-384';
const HYBRID = 'X25519MLKEM768';

let curves: string | undefined;
/** The curve list, with the post-quantum hybrid first when this OpenSSL knows it. */
function ecdhCurve(): string {
  if (curves) return curves;
  try {
    createSecureContext({ ecdhCurve: `${HYBRID}:${CURVES}` });
    curves = `${HYBRID}:${CURVES}`;
  } catch {
    curves = CURVES;
  }
  return curves;
}

export interface TlsVersions {
  /** Default TLSv1.2; TLSv1.3 makes a TLS 1.3-only listener. */
  minVersion?: SecureVersion;
  /** Default TLSv1.3; TLSv1.2 makes a TLS 1.2-only listener. */
  maxVersion?: SecureVersion;
}

export interface TlsProfile {
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  ciphers: string;
  ecdhCurve: string;
  honorCipherOrder: boolean;
  secureOptions: number;
}

/** The options for `tls.createServer` / `setSecureContext`; `extraOptions` adds OpenSSL flags. */
export function tlsProfile(versions: TlsVersions = {}, extraOptions = 0): TlsProfile {
  const minVersion = versions.minVersion ?? 'TLSv1.2';
  const maxVersion = versions.maxVersion ?? 'TLSv1.3';
  if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3')
    throw new RangeError(`TLS minimum version ${minVersion} is not allowed: TLSv1.2 or TLSv1.3`);
  if (maxVersion !== 'TLSv1.2' && maxVersion !== 'TLSv1.3')
    throw new RangeError(`TLS maximum version ${maxVersion} is not allowed: TLSv1.2 or TLSv1.3`);
  if (minVersion === 'TLSv1.3' && maxVersion === 'TLSv1.2')
    throw new RangeError('TLS minimum version TLSv1.3 is above the maximum TLSv1.2');
  return {
    minVersion,
    maxVersion,
    ciphers: [...TLS13_SUITES, ...TLS12_SUITES].join(':'),
    ecdhCurve: ecdhCurve(),
    honorCipherOrder: false,
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION | extraOptions,
  };
}
