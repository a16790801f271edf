#!/usr/bin/env node
/* global fetch */
/*
 * One command runs the Environmental Sensor against a local Gatehouse (`npm start`):
 *
 *   node examples/environmental-sensor/run.mjs [--sdk azure|gatehouse] [--device-id <id>] [--seconds <n>]
 *
 * It reads the server's data folder (GATEHOUSE_DATA, default ./gatehouse-data: server-ca.pem and
 * admin-token) and asks the REST API (GATEHOUSE_URL, default http://localhost:3000) for the ID
 * scope and the MQTT endpoint. With IOTHUB_DEVICE_X509_CERT + IOTHUB_DEVICE_X509_KEY it uses
 * X.509; with IOTHUB_DEVICE_DPS_DEVICE_KEY that SAS key; otherwise it derives the device key from
 * the SAS-IoT-Devices group key, like IoT Central's Connect dialog. Then it starts the sensor
 * with NODE_EXTRA_CA_CERTS pointing at the server CA: GATEHOUSE_CA when set, else
 * <data>/server-ca.pem when GATEHOUSE_DATA is set or the file exists, else NODE_EXTRA_CA_CERTS
 * as the shell has it.
 */
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { deriveDeviceKey } from '@gatehouse/protocol';

const here = dirname(fileURLToPath(import.meta.url));
const SENSORS = { azure: 'environmentalSensor.js', gatehouse: 'environmentalSensor.mjs' };
const USAGE = `usage: node examples/environmental-sensor/run.mjs [--sdk azure|gatehouse] [--device-id <id>] [--seconds <n>]

  --sdk        azure (default): the how-to's code with the Azure IoT SDK packages (MQTT port 8883 only)
               gatehouse: the same device with @gatehouse/device (any MQTT port)
  --device-id  registration ID = device ID (default: the certificate's CN, or environmental-sensor-1)
  --seconds    stop after this many seconds (default: run until Ctrl+C)

environment: GATEHOUSE_DATA (./gatehouse-data), GATEHOUSE_URL (http://localhost:3000),
GATEHOUSE_CA or NODE_EXTRA_CA_CERTS (default: <data>/server-ca.pem),
GATEHOUSE_ADMIN_TOKEN (default: <data>/admin-token), IOTHUB_DEVICE_X509_CERT + IOTHUB_DEVICE_X509_KEY
or IOTHUB_DEVICE_DPS_DEVICE_KEY (default: derived from the SAS-IoT-Devices group key),
IOTHUB_DEVICE_DPS_ENDPOINT (default: the server's host name)`;

function fail(message) {
  console.error(`run.mjs: ${message}`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      sdk: { type: 'string', default: 'azure' },
      'device-id': { type: 'string' },
      seconds: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
} catch (err) {
  fail(`${err.message}\n${USAGE}`);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!(args.sdk in SENSORS)) fail(`--sdk must be azure or gatehouse, not ${args.sdk}`);
if (args.seconds !== undefined && !(Number(args.seconds) > 0)) fail('--seconds must be a positive number');

const dataDir = resolve(process.env.GATEHOUSE_DATA || 'gatehouse-data');
const baseUrl = (process.env.GATEHOUSE_URL || 'http://localhost:3000').replace(/\/+$/, '');
// The CA the sensor trusts (NODE_EXTRA_CA_CERTS of the child): GATEHOUSE_CA, else the data
// folder's server-ca.pem when GATEHOUSE_DATA is set or ./gatehouse-data has one, else
// NODE_EXTRA_CA_CERTS as the shell has it (a server with a CA of its own).
const localCa = join(dataDir, 'server-ca.pem');
const caSource = process.env.GATEHOUSE_CA
  ? 'GATEHOUSE_CA'
  : process.env.GATEHOUSE_DATA || existsSync(localCa) || !process.env.NODE_EXTRA_CA_CERTS
    ? 'data'
    : 'NODE_EXTRA_CA_CERTS';
const caPath = caSource === 'data' ? localCa : resolve(process.env[caSource]);
if (!existsSync(caPath)) {
  fail(
    caSource === 'data'
      ? `${caPath} not found: start Gatehouse (npm start), or set GATEHOUSE_DATA, GATEHOUSE_CA or NODE_EXTRA_CA_CERTS`
      : `${caPath} (${caSource}) not found`,
  );
}
const tokenPath = join(dataDir, 'admin-token');
const token =
  process.env.GATEHOUSE_ADMIN_TOKEN ||
  (existsSync(tokenPath)
    ? readFileSync(tokenPath, 'utf8').trim()
    : fail(`${tokenPath} not found; set GATEHOUSE_ADMIN_TOKEN`));

async function api(path) {
  let response;
  try {
    response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  } catch (err) {
    fail(
      `cannot reach ${baseUrl} (${err.cause?.code ?? err.message}): is Gatehouse running? Set GATEHOUSE_URL`,
    );
  }
  if (!response.ok) fail(`GET ${path} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

const application = await api('/api/application');
const mqtt = new URL(application.endpoints?.mqtt ?? `mqtts://${application.hostName ?? 'localhost'}:8883`);
const mqttPort = Number(mqtt.port || 8883);

const env = {
  ...process.env,
  NODE_EXTRA_CA_CERTS: caPath,
  IOTHUB_DEVICE_DPS_ENDPOINT: process.env.IOTHUB_DEVICE_DPS_ENDPOINT || mqtt.hostname,
  IOTHUB_DEVICE_DPS_ID_SCOPE: application.idScope,
};
if (args.seconds) env.SENSOR_SECONDS = args.seconds;

let deviceId = args['device-id'];
const certFile = process.env.IOTHUB_DEVICE_X509_CERT;
const keyFile = process.env.IOTHUB_DEVICE_X509_KEY;
let credential;
if (certFile || keyFile) {
  if (!certFile || !keyFile) fail('set both IOTHUB_DEVICE_X509_CERT and IOTHUB_DEVICE_X509_KEY');
  if (!deviceId) {
    const subject = new X509Certificate(readFileSync(certFile)).subject;
    deviceId = /(?:^|\n)CN=([^\n]+)/.exec(subject)?.[1];
    if (!deviceId) fail(`${certFile} has no CN; pass --device-id`);
  }
  credential = `X.509 (${certFile})`;
} else {
  deviceId ??= 'environmental-sensor-1';
  if (!process.env.IOTHUB_DEVICE_DPS_DEVICE_KEY) {
    const group = await api('/api/enrollmentGroups/SAS-IoT-Devices');
    const groupKey = group.attestation?.symmetricKey?.primaryKey;
    if (!groupKey) fail('the SAS-IoT-Devices group has no primary key');
    env.IOTHUB_DEVICE_DPS_DEVICE_KEY = deriveDeviceKey(groupKey, deviceId);
    credential = 'SAS, key derived from the SAS-IoT-Devices group';
  } else {
    credential = 'SAS (IOTHUB_DEVICE_DPS_DEVICE_KEY)';
  }
}
env.IOTHUB_DEVICE_DPS_DEVICE_ID = deviceId;

if (args.sdk === 'gatehouse') {
  env.IOTHUB_DEVICE_MQTT_PORT = String(mqttPort);
} else if (mqttPort !== 8883) {
  console.warn(
    `run.mjs: the server's MQTT port is ${mqttPort}, but the Azure SDK only connects to 8883; use --sdk gatehouse or serve with --mqtt-port 8883`,
  );
}

console.log(
  `Environmental sensor (${args.sdk} SDK): device ${deviceId}, ID scope ${application.idScope}, ` +
    `${env.IOTHUB_DEVICE_DPS_ENDPOINT}:${args.sdk === 'gatehouse' ? mqttPort : 8883}, ${credential}`,
);
console.log(`NODE_EXTRA_CA_CERTS=${caPath}`);

const child = spawn(process.execPath, [join(here, SENSORS[args.sdk])], { env, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
