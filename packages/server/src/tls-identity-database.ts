/**
 * The server's TLS identity when nodes share a PostgreSQL database: the server CA and the
 * server certificate live in the `settings` table, so every node presents the same
 * certificate and writes the same `<data>/server-ca.pem` (the file devices trust). The
 * certificate names the union of every node's host names: a node that starts with a name the
 * stored certificate lacks reissues it with all of them (the caller holds the start-up lock,
 * so two nodes never reissue at once). Nodes started earlier keep serving the older
 * certificate until they restart; it is issued by the same CA, so devices trust both.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRootCa, createServerCertificate, readCertificate, readPrivateKey } from '@gatehouse/pki';

import type { Settings } from './store/settings.js';
import { stillGood, subjectNames, type TlsIdentity } from './tls-identity.js';

/** The `settings` keys of the identity (`gatehouse store copy` writes them from a data folder). */
export const TLS_SETTINGS_KEYS = {
  caCert: 'tls.serverCa.cert',
  caKey: 'tls.serverCa.key',
  cert: 'tls.server.cert',
  key: 'tls.server.key',
  hostNames: 'tls.server.hostNames',
} as const;

export interface DatabaseTlsIdentityOptions {
  dataDir: string;
  hostNames: string[];
  settings: Settings;
}

export async function ensureDatabaseTlsIdentity(options: DatabaseTlsIdentityOptions): Promise<TlsIdentity> {
  const { settings } = options;
  let caCert = await settings.get(TLS_SETTINGS_KEYS.caCert);
  let caKey = await settings.get(TLS_SETTINGS_KEYS.caKey);
  if (caCert === undefined || caKey === undefined) {
    const issued = await createRootCa({ commonName: 'Gatehouse local server CA' });
    caCert = issued.certificate.pem;
    caKey = issued.privateKey.toPem();
    await settings.set(TLS_SETTINGS_KEYS.caKey, caKey);
    await settings.set(TLS_SETTINGS_KEYS.caCert, caCert);
  }
  const ca = { certificate: readCertificate(caCert), privateKey: readPrivateKey(caKey) };

  const known = parseNames(await settings.get(TLS_SETTINGS_KEYS.hostNames));
  const hostNames = [...new Set([...known, ...options.hostNames])];
  let cert = await settings.get(TLS_SETTINGS_KEYS.cert);
  let key = await settings.get(TLS_SETTINGS_KEYS.key);
  let certificate = cert !== undefined ? readCertificate(cert) : undefined;
  let generated = false;
  if (!certificate || key === undefined || !stillGood(certificate, hostNames, ca.certificate)) {
    const { dnsNames, ipAddresses } = subjectNames(hostNames);
    const server = await createServerCertificate({
      commonName: hostNames[0] ?? 'localhost',
      dnsNames: [...dnsNames],
      ipAddresses: [...ipAddresses],
      issuer: ca,
    });
    certificate = server.certificate;
    cert = server.certificate.pem;
    key = server.privateKey.toPem();
    await settings.set(TLS_SETTINGS_KEYS.key, key);
    await settings.set(TLS_SETTINGS_KEYS.cert, cert);
    generated = true;
  }
  if (hostNames.length !== known.length)
    await settings.set(TLS_SETTINGS_KEYS.hostNames, JSON.stringify(hostNames));

  await mkdir(options.dataDir, { recursive: true });
  const caPath = join(options.dataDir, 'server-ca.pem');
  await writeFile(caPath, caCert);
  return { cert: cert! + caCert, key, caPath, certificate, generated };
}

function parseNames(text: string | undefined): string[] {
  if (text === undefined) return [];
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Polls the stored server certificate and calls `onChange` when another node reissued it
 * (a node started with a new host name), so every node serves the same certificate without
 * a restart. Returns the stop function.
 */
export function watchDatabaseTlsIdentity(options: {
  settings: Settings;
  current: string;
  intervalMs?: number;
  onChange: (key: string, cert: string) => void;
  onError?: (err: unknown) => void;
}): () => void {
  let current = options.current;
  const timer = setInterval(() => {
    void (async () => {
      const cert = await options.settings.get(TLS_SETTINGS_KEYS.cert);
      const key = await options.settings.get(TLS_SETTINGS_KEYS.key);
      const caCert = await options.settings.get(TLS_SETTINGS_KEYS.caCert);
      if (cert === undefined || key === undefined || caCert === undefined) return;
      const chain = cert + caCert;
      if (chain === current) return;
      current = chain;
      options.onChange(key, chain);
    })().catch((err: unknown) => options.onError?.(err));
  }, options.intervalMs ?? 5_000);
  timer.unref();
  return () => clearInterval(timer);
}
