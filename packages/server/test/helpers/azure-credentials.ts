/**
 * Device identities of every attestation kind, made through the REST API as an operator would,
 * for the tests that drive the real Azure SDK (transport matrix, TLS version matrix): an X.509
 * enrollment group with a verified root, the default SAS group's key, individual X.509 and SAS
 * enrollments; and the SDK's provisioning and hub device started with one of them.
 */
import assert from 'node:assert/strict';

import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';
import { deriveDeviceKey } from '@gatehouse/protocol';

import { runAzureProvision, type AzureProvisionResult } from './azure-device.js';
import { AzureHubDevice } from './azure-hub.js';
import { base64Pem, tempDir, writeIssued } from './pki-files.js';
import type { TestServer } from './test-server.js';

export type SdkTransport = 'mqtt' | 'mqttws' | 'http';
export type CredentialKind = 'x509-group' | 'x509-individual' | 'sas-group' | 'sas-individual';

export interface SdkCredential {
  registrationId: string;
  files?: { cert: string; key: string };
  symmetricKey?: string;
}

/** What the credentials are made from: a server with an X.509 group and the SAS group's key. */
export interface SdkEnrollments {
  server: TestServer;
  dir: string;
  root: Issued;
  groupKey: string;
}

/** Creates the X.509 enrollment group `group` (root uploaded, verified) and reads the SAS group key. */
export async function sdkEnrollments(server: TestServer, group: string): Promise<SdkEnrollments> {
  const dir = await tempDir();
  const root = await createRootCa({ commonName: `${group}-root` });
  await server.api('PUT', `/api/enrollmentGroups/${group}`, {
    displayName: group,
    type: 'iot',
    attestation: { type: 'x509' },
  });
  const up = await server.api('PUT', `/api/enrollmentGroups/${group}/certificates/primary`, {
    certificate: base64Pem(root.certificate),
    verified: true,
  });
  assert.equal(up.status, 200, JSON.stringify(up.body));
  const g = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
    'GET',
    '/api/enrollmentGroups/SAS-IoT-Devices',
  );
  return { server, dir, root, groupKey: g.body.attestation.symmetricKey.primaryKey };
}

/** A fresh identity `id` of the given kind, ready to provision. */
export async function sdkCredential(
  e: SdkEnrollments,
  kind: CredentialKind,
  id: string,
): Promise<SdkCredential> {
  switch (kind) {
    case 'x509-group': {
      const leaf = await createDeviceCertificate({ commonName: id, issuer: e.root });
      return { registrationId: id, files: await writeIssued(e.dir, id, leaf) };
    }
    case 'x509-individual': {
      const leaf = await createDeviceCertificate({ commonName: id });
      const put = await e.server.api('PUT', `/api/devices/${id}/attestation`, {
        type: 'x509',
        x509: { clientCertificates: { primary: { certificate: leaf.certificate.pem } } },
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      return { registrationId: id, files: await writeIssued(e.dir, id, leaf) };
    }
    case 'sas-group':
      return { registrationId: id, symmetricKey: deriveDeviceKey(e.groupKey, id) };
    case 'sas-individual': {
      const put = await e.server.api<{ symmetricKey: { primaryKey: string } }>(
        'PUT',
        `/api/devices/${id}/attestation`,
        { type: 'symmetricKey' },
      );
      assert.equal(put.status, 200, JSON.stringify(put.body));
      return { registrationId: id, symmetricKey: put.body.symmetricKey.primaryKey };
    }
  }
}

/** Provisions `c` with the SDK's ProvisioningDeviceClient over `transport`. */
export function provisionWithSdk(
  server: TestServer,
  c: SdkCredential,
  transport: SdkTransport,
): Promise<AzureProvisionResult> {
  return runAzureProvision({
    caPath: server.serverCaPath!,
    idScope: server.idScope,
    registrationId: c.registrationId,
    transport,
    ...(c.files ? { certFile: c.files.cert, keyFile: c.files.key } : {}),
    ...(c.symmetricKey ? { symmetricKey: c.symmetricKey } : {}),
  });
}

/** Starts the SDK hub device of `c` over `transport` (see azure-hub-device.ts for `extra`). */
export function startSdkDevice(
  server: TestServer,
  c: SdkCredential,
  transport: SdkTransport,
  extra: Record<string, string> = {},
): AzureHubDevice {
  const env: Record<string, string> = {
    HUB_HOST: 'localhost',
    DEVICE_ID: c.registrationId,
    TRANSPORT: transport,
    ...extra,
  };
  if (c.symmetricKey) env['SHARED_ACCESS_KEY'] = c.symmetricKey;
  else {
    env['CERT_FILE'] = c.files!.cert;
    env['KEY_FILE'] = c.files!.key;
  }
  return new AzureHubDevice(env, server.serverCaPath!);
}
