'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS, like the how-to's sample */
/* global require */
/*
 * The IoT Central how-to's Environmental Sensor (CENTRAL_API.md §4.3, §5.1), with the real
 * Azure IoT SDK packages from npm. The logic is the tutorial's; only the settings come from
 * environment variables, so it runs against Gatehouse (or Azure) unchanged.
 *
 *   IOTHUB_DEVICE_DPS_ENDPOINT    provisioning host (default: localhost)
 *   IOTHUB_DEVICE_DPS_ID_SCOPE    ID scope (required)
 *   IOTHUB_DEVICE_DPS_DEVICE_ID   registration ID (required; the certificate's CN for X.509)
 *   IOTHUB_DEVICE_X509_CERT       certificate file (PEM, leaf first; _fullchain.pem for a group on an intermediate)
 *   IOTHUB_DEVICE_X509_KEY        its private key file      } or
 *   IOTHUB_DEVICE_DPS_DEVICE_KEY  the device's symmetric key (SAS, derived from the group key)
 *   SENSOR_SECONDS                optional: stop after this many seconds
 *
 * The SDK connects to port 8883 and trusts a private CA only through NODE_EXTRA_CA_CERTS,
 * which Node reads at start-up (PROTOCOL.md §9):
 *
 *   NODE_EXTRA_CA_CERTS=./gatehouse-data/server-ca.pem node environmentalSensor.js
 */
const fs = require('node:fs');
const { Client, Message } = require('azure-iot-device');
const { Mqtt } = require('azure-iot-device-mqtt');
const { ProvisioningDeviceClient } = require('azure-iot-provisioning-device');
const { Mqtt: ProvisioningTransport } = require('azure-iot-provisioning-device-mqtt');

const provisioningHost = process.env.IOTHUB_DEVICE_DPS_ENDPOINT || 'localhost';
const idScope = required('IOTHUB_DEVICE_DPS_ID_SCOPE');
const registrationId = required('IOTHUB_DEVICE_DPS_DEVICE_ID');
const certFile = process.env.IOTHUB_DEVICE_X509_CERT;
const keyFile = process.env.IOTHUB_DEVICE_X509_KEY;
const symmetricKey = process.env.IOTHUB_DEVICE_DPS_DEVICE_KEY;
const seconds = Number(process.env.SENSOR_SECONDS || 0);

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return value;
}

let x509;
let securityClient;
if (certFile && keyFile) {
  const { X509Security } = require('azure-iot-security-x509');
  x509 = { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
  securityClient = new X509Security(registrationId, x509);
} else if (symmetricKey) {
  const { SymmetricKeySecurityClient } = require('azure-iot-security-symmetric-key');
  securityClient = new SymmetricKeySecurityClient(registrationId, symmetricKey);
} else {
  console.error('set IOTHUB_DEVICE_X509_CERT and IOTHUB_DEVICE_X509_KEY, or IOTHUB_DEVICE_DPS_DEVICE_KEY');
  process.exit(2);
}

// The tutorial's device state.
const targetTemperature = 0;
let ledOn = true;
let client;
let sendInterval;

// Writable properties: the value arrives as `{ value }` (IoT Central before 07/2020) or plain.
function desiredValue(setting) {
  return setting !== null && typeof setting === 'object' && 'value' in setting ? setting.value : setting;
}

function ack(twin, name, value, version) {
  const patch = { [name]: { value, ac: 200, ad: 'completed', av: version } };
  twin.properties.reported.update(patch, (err) =>
    console.log(`Sent setting update for ${name}; ` + (err ? `error: ${err.toString()}` : 'status: success')),
  );
}

function handleSettings(twin) {
  twin.on('properties.desired', (desiredChange) => {
    const version = desiredChange.$version;
    if (desiredChange.name !== undefined) {
      const value = desiredValue(desiredChange.name);
      console.log(`Received setting: name: ${JSON.stringify(value)}`);
      setTimeout(() => ack(twin, 'name', value, version), 1000);
    }
    if (desiredChange.brightness !== undefined) {
      const value = desiredValue(desiredChange.brightness);
      console.log(`Received setting: brightness: ${JSON.stringify(value)}`);
      setTimeout(() => ack(twin, 'brightness', value, version), 5000);
    }
  });
}

function sendDeviceProperties(twin, properties) {
  twin.properties.reported.update(properties, (err) =>
    console.log(
      `Sent device properties: ${JSON.stringify(properties)}; ` +
        (err ? `error: ${err.toString()}` : 'status: success'),
    ),
  );
}

function sendTelemetry() {
  const temp = targetTemperature + Math.random() * 15;
  const humid = 70 + Math.random() * 10;
  const data = JSON.stringify({ temp, humid });
  const message = new Message(data);
  message.contentType = 'application/json';
  message.contentEncoding = 'utf-8';
  client.sendEvent(message, (err) =>
    console.log(`Sent message: ${data}` + (err ? `; error: ${err.toString()}` : '')),
  );
}

function onCommand(name, handler) {
  client.onDeviceMethod(name, (request, response) => {
    console.log(`Received command: ${name} ${JSON.stringify(request.payload)}`);
    handler(request, response);
  });
}

function reply(response, status, payload) {
  response.send(status, payload, (err) => {
    if (err) console.error(`Unable to send method response: ${err.toString()}`);
  });
}

async function main() {
  const provisioningClient = ProvisioningDeviceClient.create(
    provisioningHost,
    idScope,
    new ProvisioningTransport(),
    securityClient,
  );
  const result = await provisioningClient.register();
  console.log(`Registration succeeded: assigned hub ${result.assignedHub}, device ID ${result.deviceId}`);

  const connectionString = x509
    ? `HostName=${result.assignedHub};DeviceId=${result.deviceId};x509=true`
    : `HostName=${result.assignedHub};DeviceId=${result.deviceId};SharedAccessKey=${symmetricKey}`;
  client = Client.fromConnectionString(connectionString, Mqtt);
  if (x509) client.setOptions(x509);
  client.on('error', (err) => console.error(`Client error: ${err.toString()}`));

  await client.open();
  console.log('Device successfully connected to the hub');

  onCommand('blink', (request, response) =>
    reply(response, 200, { status: `Blinking LED every ${request.payload} seconds` }),
  );
  onCommand('turnon', (_request, response) => {
    ledOn = true;
    console.log('Turning on the LED');
    reply(response, 200, null);
  });
  onCommand('turnoff', (_request, response) => {
    ledOn = false;
    console.log('Turning off the LED');
    reply(response, 200, null);
  });
  onCommand('rundiagnostics', (_request, response) => {
    // Asynchronous: accept now, report a property named after the command when done.
    reply(response, 202, null);
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
      console.log(`Running diagnostics (${ticks}/3)… LED ${ledOn ? 'on' : 'off'}`);
      if (ticks === 3) {
        clearInterval(timer);
        client.getTwin((err, twin) => {
          if (err) return console.error(`Could not get the twin: ${err.toString()}`);
          sendDeviceProperties(twin, {
            rundiagnostics: { value: `Diagnostics run complete at ${new Date().toLocaleString()}` },
          });
        });
      }
    }, 2000);
  });

  sendInterval = setInterval(sendTelemetry, 1000);

  const twin = await client.getTwin();
  handleSettings(twin);
  sendDeviceProperties(twin, { state: 'true' });

  if (seconds > 0) setTimeout(stop, seconds * 1000);
}

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(sendInterval);
  console.log('Stopping');
  const done = () => process.exit(0);
  if (!client) return done();
  // Let the last PUBACKs and the twin update arrive before closing.
  setTimeout(() => client.close(done), 500);
  setTimeout(done, 5000).unref();
}

process.on('SIGINT', stop);
process.on('SIGTERM', stop);

main().catch((err) => {
  console.error(`Environmental sensor failed: ${err.message || err}`);
  if (err.result) console.error(JSON.stringify(err.result));
  process.exit(1);
});
