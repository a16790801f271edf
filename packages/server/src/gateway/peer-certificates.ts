import type { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';

import { readHandshakeCertificate, type Certificate } from '@gatehouse/pki';

/**
 * The client certificate chain exactly as the device sent it, leaf first, as DER. With
 * `requestCert: true` Node exposes the sent chain through `issuerCertificate` links; a
 * self-signed last certificate points to itself (PROTOCOL.md §7.4). Empty when the client
 * sent no certificate (then `getPeerCertificate` returns `{}`).
 */
export function peerCertificateDers(socket: TLSSocket): Buffer[] {
  if (X509_CHAIN) return x509ChainDers(socket);
  const ders: Buffer[] = [];
  const seen = new Set<string>();
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert && Buffer.isBuffer(cert.raw) && cert.raw.length > 0) {
    const id = cert.raw.toString('base64');
    if (seen.has(id)) break;
    seen.add(id);
    ders.push(cert.raw);
    const next: DetailedPeerCertificate | undefined = cert.issuerCertificate;
    if (next === cert) break;
    cert = next;
  }
  return ders;
}

/**
 * From Node.js 24, `getPeerX509Certificate()` gives the same chain (same `issuerCertificate`
 * links) for about a third of what `getPeerCertificate(true)` costs, which builds an object of
 * every field of every certificate only for `raw` to be read here. Node 20 and 22 take the
 * certificates out of the connection's chain as that call reads them (a second call sees only
 * the leaf), so they keep `getPeerCertificate(true)`.
 */
const X509_CHAIN = Number(process.versions.node.split('.')[0]) >= 24;

function x509ChainDers(socket: TLSSocket): Buffer[] {
  const ders: Buffer[] = [];
  let cert: X509Certificate | undefined = socket.getPeerX509Certificate();
  while (cert) {
    const der = cert.raw;
    // A self-signed last certificate may point to itself; a chain may repeat one.
    if (ders.some((d) => d.equals(der))) break;
    ders.push(der);
    cert = cert.issuerCertificate;
  }
  return ders;
}

/**
 * The client chain parsed with @gatehouse/pki, leaf first. Validation is not done here: it
 * belongs to the service, per enrollment (DESIGN.md security rules). OpenSSL decoded these
 * certificates in the handshake, so they are not decoded by OpenSSL again. Throws a `PkiError`
 * if a certificate does not parse (TLS accepted it, so that would be a parser gap).
 */
export function peerCertificates(socket: TLSSocket): Certificate[] {
  return peerCertificateDers(socket).map((der) => readHandshakeCertificate(der));
}
