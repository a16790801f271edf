import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import {
  createRootCa,
  createServerCertificate,
  readCertificate,
  readPrivateKey,
  type Certificate,
} from '@gatehouse/pki';

export interface TlsIdentity {
  /** PEM: the server certificate followed by its issuer (sent to clients). */
  cert: string;
  key: string;
  /** The file devices trust (NODE_EXTRA_CA_CERTS); undefined with a user-supplied certificate. */
  caPath: string | undefined;
  certificate: Certificate;
  generated: boolean;
}

export interface TlsIdentityOptions {
  dataDir: string;
  hostNames: string[];
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

/** A server certificate that expires within this is reissued at start. */
export const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/**
 * The server's TLS identity. A user-supplied certificate and key win; else a
 * local server CA is created on first start (`<data>/server-ca.pem`, the file
 * devices trust) and a server certificate for localhost, 127.0.0.1, ::1 and
 * every host name is issued from it. Later starts reuse both, and reissue the
 * server certificate when a host name is new or it expires within 30 days.
 */
export async function ensureTlsIdentity(options: TlsIdentityOptions): Promise<TlsIdentity> {
  if (options.tlsCertFile || options.tlsKeyFile) {
    if (!options.tlsCertFile || !options.tlsKeyFile)
      throw new Error('--tls-cert and --tls-key must be given together');
    const cert = await readFile(options.tlsCertFile, 'utf8');
    const key = await readFile(options.tlsKeyFile, 'utf8');
    const certificate = readCertificate(cert);
    if (!certificate.matchesKey(readPrivateKey(key)))
      throw new Error(`${options.tlsKeyFile} is not the private key of ${options.tlsCertFile}`);
    return { cert, key, caPath: undefined, certificate, generated: false };
  }
  await mkdir(options.dataDir, { recursive: true });
  const caPath = join(options.dataDir, 'server-ca.pem');
  const caKeyPath = join(options.dataDir, 'server-ca-key.pem');
  const certPath = join(options.dataDir, 'server-cert.pem');
  const keyPath = join(options.dataDir, 'server-key.pem');

  let ca: { certificate: Certificate; privateKey: ReturnType<typeof readPrivateKey> };
  if (existsSync(caPath) && existsSync(caKeyPath)) {
    ca = {
      certificate: readCertificate(await readFile(caPath, 'utf8')),
      privateKey: readPrivateKey(await readFile(caKeyPath, 'utf8')),
    };
  } else {
    const issued = await createRootCa({ commonName: 'Gatehouse local server CA' });
    ca = { certificate: issued.certificate, privateKey: issued.privateKey };
    await writeSecret(caKeyPath, issued.privateKey.toPem());
    await writeFile(caPath, issued.certificate.pem);
  }

  const { dnsNames, ipAddresses } = subjectNames(options.hostNames);

  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = await readFile(certPath, 'utf8');
    const key = await readFile(keyPath, 'utf8');
    const certificate = readCertificate(cert);
    if (stillGood(certificate, options.hostNames, ca.certificate)) {
      return { cert: cert + ca.certificate.pem, key, caPath, certificate, generated: false };
    }
  }
  const server = await createServerCertificate({
    commonName: options.hostNames[0] ?? 'localhost',
    dnsNames: [...dnsNames],
    ipAddresses: [...ipAddresses],
    issuer: ca,
  });
  await writeSecret(keyPath, server.privateKey.toPem());
  await writeFile(certPath, server.certificate.pem);
  return {
    cert: server.certificate.pem + ca.certificate.pem,
    key: server.privateKey.toPem(),
    caPath,
    certificate: server.certificate,
    generated: true,
  };
}

/** The SANs of the server certificate: loopback names and addresses, and every host name. */
export function subjectNames(hostNames: readonly string[]): {
  dnsNames: Set<string>;
  ipAddresses: Set<string>;
} {
  const dnsNames = new Set<string>(['localhost']);
  const ipAddresses = new Set<string>(['127.0.0.1', '::1']);
  for (const h of hostNames) (isIP(h) ? ipAddresses : dnsNames).add(h);
  return { dnsNames, ipAddresses };
}

/** Whether a stored server certificate may be served: not near expiry, every name in it, issued by `ca`. */
export function stillGood(certificate: Certificate, hostNames: readonly string[], ca: Certificate): boolean {
  const { dnsNames, ipAddresses } = subjectNames(hostNames);
  const fresh = certificate.notAfter.getTime() - Date.now() > RENEW_BEFORE_MS;
  const covers = [...dnsNames, ...ipAddresses].every((n) => coversName(certificate, n));
  return fresh && covers && certificate.isSignedBy(ca);
}

/** Whether the certificate's subject alternative names include `name` (node's X509Certificate reads the SAN). */
function coversName(certificate: Certificate, name: string): boolean {
  const san = new X509Certificate(certificate.der).subjectAltName ?? '';
  const names = new Set<string>();
  for (const part of san.split(/,\s*/)) {
    const m = /^(DNS|IP Address):(.+)$/.exec(part.trim());
    if (m?.[2]) names.add(m[2].toLowerCase());
  }
  // node prints IPv6 SANs in full form; compare normalised.
  return names.has(name.toLowerCase()) || (name === '::1' && names.has('0:0:0:0:0:0:0:1'));
}

async function writeSecret(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  await chmod(path, 0o600);
}
