/**
 * A device process that provisions with the real Azure IoT SDK packages from
 * npm, exactly as the how-to's sample does. Run as a child process so that
 * NODE_EXTRA_CA_CERTS (read at process start) can point at the server CA:
 * the Azure DPS client accepts a private CA no other way (PROTOCOL.md §9).
 *
 * Input (environment): DPS_HOST, DPS_ID_SCOPE, DPS_REGISTRATION_ID, and either
 * DPS_CERT_FILE + DPS_KEY_FILE (X.509) or DPS_SYMMETRIC_KEY; optional
 * DPS_TRANSPORT (mqtt, mqttws, http) and DPS_PAYLOAD (JSON).
 * Output: one JSON line on stdout, `{ ok, result | error }`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as ProvisioningDevice from 'azure-iot-provisioning-device';
import type * as ProvisioningDeviceMqtt from 'azure-iot-provisioning-device-mqtt';
import type * as SecurityX509 from 'azure-iot-security-x509';
import type * as SecuritySymmetricKey from 'azure-iot-security-symmetric-key';

// The Azure packages are CommonJS without named ESM exports.
const require = createRequire(import.meta.url);
const { ProvisioningDeviceClient } = require('azure-iot-provisioning-device') as typeof ProvisioningDevice;
const { Mqtt, MqttWs } = require('azure-iot-provisioning-device-mqtt') as typeof ProvisioningDeviceMqtt;
const { X509Security } = require('azure-iot-security-x509') as typeof SecurityX509;
const { SymmetricKeySecurityClient } =
  require('azure-iot-security-symmetric-key') as typeof SecuritySymmetricKey;

type Create = typeof ProvisioningDeviceClient.create;

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

function transport(): Parameters<Create>[2] {
  switch (process.env['DPS_TRANSPORT'] ?? 'mqtt') {
    case 'mqttws':
      return new MqttWs();
    case 'http': {
      const { Http } = require('azure-iot-provisioning-device-http') as {
        Http: new () => Parameters<Create>[2];
      };
      return new Http();
    }
    default:
      return new Mqtt();
  }
}

async function main(): Promise<void> {
  const registrationId = env('DPS_REGISTRATION_ID');
  const certFile = process.env['DPS_CERT_FILE'];
  const symmetricKey = process.env['DPS_SYMMETRIC_KEY'];
  const security = symmetricKey
    ? new SymmetricKeySecurityClient(registrationId, symmetricKey)
    : new X509Security(registrationId, {
        cert: certFile ? readFileSync(certFile, 'utf8') : '',
        key: process.env['DPS_KEY_FILE'] ? readFileSync(env('DPS_KEY_FILE'), 'utf8') : '',
      });
  const client = ProvisioningDeviceClient.create(
    env('DPS_HOST'),
    env('DPS_ID_SCOPE'),
    transport(),
    security as Parameters<Create>[3],
  );
  if (process.env['DPS_PAYLOAD']) client.setProvisioningPayload(JSON.parse(process.env['DPS_PAYLOAD']));
  try {
    const result = await client.register();
    process.stdout.write(JSON.stringify({ ok: true, result }) + '\n');
  } catch (err) {
    const e = err as Error & { result?: unknown; transportObject?: unknown; code?: unknown };
    process.stdout.write(
      JSON.stringify({
        ok: false,
        error: { name: e.name, message: e.message, code: e.code, result: e.result },
      }) + '\n',
    );
  }
}

void main();
