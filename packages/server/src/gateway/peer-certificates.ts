import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';

import { readHandshakeCertificate, type Certificate } from '@gatehouse/pki';

/**
 * The client certificate chain exactly as the device sent it, leaf first, as DER. With
 * `requestCert: true` Node exposes the sent chain through `issuerCertificate` links; a
 * self-signed last certificate points to itself (PROTOCOL.md §7.4). Empty when the client
 * sent no certificate (then `getPeerCertificate` returns `{}`).
 */
export function peerCertificateDers(socket: TLSSocket): Buffer[] {
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
 * The client chain parsed with @gatehouse/pki, leaf first. Validation is not done here: it
 * belongs to the service, per enrollment (DESIGN.md security rules). OpenSSL decoded these
 * certificates in the handshake, so they are not decoded by OpenSSL again. Throws a `PkiError`
 * if a certificate does not parse (TLS accepted it, so that would be a parser gap).
 */
export function peerCertificates(socket: TLSSocket): Certificate[] {
  return peerCertificateDers(socket).map((der) => readHandshakeCertificate(der));
}
