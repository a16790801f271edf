import type { Certificate } from './certificate.js';
import { internals } from './certificate.js';
import { x509 } from './webcrypto.js';

/** RFC 5280 §4.2.1.12 key purposes. */
export const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** The certificate profiles this package issues. */
export type Profile = 'ca' | 'device' | 'server';

export interface ExtensionInput {
  profile: Profile;
  /** SPKI DER of the subject's public key. */
  subjectPublicKey: Uint8Array;
  /** The issuing certificate; absent for self-signed certificates. */
  issuer?: Certificate;
  /** SPKI DER of the issuer's public key, for the authority key identifier. */
  issuerPublicKey?: Uint8Array;
  pathLen?: number;
  rsa?: boolean;
  dnsNames?: string[];
  ipAddresses?: string[];
}

/**
 * RFC 5280 §4.2.1.1: the authority key identifier of a certificate is the issuer's subject key
 * identifier. Issuers made by OpenSSL 1.1 (create_test_cert.js) have none, so fall back to the
 * SHA-1 of the issuer's public key (§4.2.1.2 method 1), which is what OpenSSL 3 computes too.
 */
async function authorityKeyIdentifier(
  issuer: Certificate,
  issuerPublicKey: Uint8Array,
): Promise<x509.Extension> {
  const ski = internals(issuer).subjectKeyIdentifier;
  return ski
    ? new x509.AuthorityKeyIdentifierExtension(ski)
    : x509.AuthorityKeyIdentifierExtension.create(issuerPublicKey);
}

/** The extensions of one certificate of the given profile. */
export async function buildExtensions(input: ExtensionInput): Promise<x509.Extension[]> {
  const extensions: x509.Extension[] = [];
  if (input.profile === 'ca') {
    // §4.2.1.9: CAs MUST mark basicConstraints critical; §4.2.1.3: keyCertSign (and cRLSign for
    // CRL issuers) SHOULD be in a critical keyUsage.
    extensions.push(new x509.BasicConstraintsExtension(true, input.pathLen, true));
    extensions.push(
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    );
  } else {
    // §4.2.1.9: an end entity may state cA FALSE; it stops the certificate being used as a CA
    // by validators that would otherwise accept a v3 certificate without the extension.
    extensions.push(new x509.BasicConstraintsExtension(false, undefined, true));
    // §4.2.1.3: digitalSignature covers the TLS handshake signature. RSA servers may also be
    // asked for RSA key transport (TLS 1.2), which needs keyEncipherment.
    const usage =
      input.profile === 'server' && input.rsa
        ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
        : x509.KeyUsageFlags.digitalSignature;
    extensions.push(new x509.KeyUsagesExtension(usage, true));
    extensions.push(
      new x509.ExtendedKeyUsageExtension(
        [input.profile === 'server' ? EKU_SERVER_AUTH : EKU_CLIENT_AUTH],
        false,
      ),
    );
  }
  if (input.profile === 'server') {
    // §4.2.1.6: the names TLS clients check (RFC 6125 §6.4.4: CN is ignored when SANs exist).
    const names: x509.JsonGeneralName[] = [
      ...(input.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(input.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ];
    if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  }
  // §4.2.1.2: SKI MUST be present in CA certificates and SHOULD be in end-entity ones.
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(input.subjectPublicKey));
  if (input.issuer && input.issuerPublicKey) {
    // §4.2.1.1: MUST be present except in self-signed certificates.
    extensions.push(await authorityKeyIdentifier(input.issuer, input.issuerPublicKey));
  }
  return extensions;
}
