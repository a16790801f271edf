/*
 * The same Environmental Sensor (CENTRAL_API.md §5.1) with Gatehouse's own device SDK,
 * `@gatehouse/device`: one Gatehouse call per Azure SDK call (packages/device/README.md,
 * "Porting from the Azure IoT SDK"). Same environment variables as environmentalSensor.js,
 * plus:
 *
 *   IOTHUB_DEVICE_MQTT_PORT  optional MQTT/TLS port for provisioning and the hub (default 8883);
 *                            the Azure SDK can't do this, ours can.
 *   IOTHUB_DEVICE_CA         optional server CA file (or GATEHOUSE_CA); without it Node's store is used, which
 *                            NODE_EXTRA_CA_CERTS extends, exactly as for the Azure SDK.
 */
import { HubClient, ProvisioningClient } from '@gatehouse/device';

const provisioningHost = process.env.IOTHUB_DEVICE_DPS_ENDPOINT || 'localhost';
const idScope = required('IOTHUB_DEVICE_DPS_ID_SCOPE');
const registrationId = required('IOTHUB_DEVICE_DPS_DEVICE_ID');
const certFile = process.env.IOTHUB_DEVICE_X509_CERT;
const keyFile = process.env.IOTHUB_DEVICE_X509_KEY;
const symmetricKey = process.env.IOTHUB_DEVICE_DPS_DEVICE_KEY;
const seconds = Number(process.env.SENSOR_SECONDS || 0);
const port = process.env.IOTHUB_DEVICE_MQTT_PORT ? Number(process.env.IOTHUB_DEVICE_MQTT_PORT) : undefined;
const ca = process.env.IOTHUB_DEVICE_CA || process.env.GATEHOUSE_CA || undefined;

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return value;
}

const x509 = certFile && keyFile ? { cert: certFile, key: keyFile } : undefined;
if (!x509 && !symmetricKey) {
  console.error('set IOTHUB_DEVICE_X509_CERT and IOTHUB_DEVICE_X509_KEY, or IOTHUB_DEVICE_DPS_DEVICE_KEY');
  process.exit(2);
}
const common = { ...(port ? { port } : {}), ...(ca ? { ca } : {}) };

// The tutorial's device state.
const targetTemperature = 0;
let ledOn = true;
let client;
let sendInterval;

/** Writable properties arrive as `{ value }` (IoT Central before 07/2020) or plain. */
function desiredValue(setting) {
  return setting !== null && typeof setting === 'object' && 'value' in setting ? setting.value : setting;
}

async function report(patch) {
  try {
    await client.updateReportedProperties(patch);
    console.log(`Sent device properties: ${JSON.stringify(patch)}; status: success`);
  } catch (err) {
    console.error(`Sent device properties: ${JSON.stringify(patch)}; error: ${err.message}`);
  }
}

function ack(name, value, version) {
  return report({ [name]: { value, ac: 200, ad: 'completed', av: version } });
}

function handleSettings() {
  client.on('desired', (patch, version) => {
    if (patch.name !== undefined) {
      const value = desiredValue(patch.name);
      console.log(`Received setting: name: ${JSON.stringify(value)}`);
      setTimeout(() => ack('name', value, version), 1000);
    }
    if (patch.brightness !== undefined) {
      const value = desiredValue(patch.brightness);
      console.log(`Received setting: brightness: ${JSON.stringify(value)}`);
      setTimeout(() => ack('brightness', value, version), 5000);
    }
  });
}

function sendTelemetry() {
  const data = { temp: targetTemperature + Math.random() * 15, humid: 70 + Math.random() * 10 };
  client.sendEvent(data).then(
    () => console.log(`Sent message: ${JSON.stringify(data)}`),
    (err) => console.error(`Sent message: ${JSON.stringify(data)}; error: ${err.message}`),
  );
}

function onCommand(name, handler) {
  client.onDeviceMethod(name, async (payload) => {
    console.log(`Received command: ${name} ${JSON.stringify(payload)}`);
    return handler(payload);
  });
}

async function main() {
  const provisioning = ProvisioningClient.create({
    host: provisioningHost,
    idScope,
    registrationId,
    ...(x509 ? { x509 } : { symmetricKey }),
    ...common,
  });
  const result = await provisioning.register();
  console.log(`Registration succeeded: assigned hub ${result.assignedHub}, device ID ${result.deviceId}`);

  const connectionString = x509
    ? `HostName=${result.assignedHub};DeviceId=${result.deviceId};x509=true`
    : `HostName=${result.assignedHub};DeviceId=${result.deviceId};SharedAccessKey=${symmetricKey}`;
  client = HubClient.fromConnectionString(connectionString, { ...common, ...(x509 ?? {}) });
  client.on('error', (err) => console.error(`Client error: ${err.code} ${err.message}`));

  onCommand('blink', (payload) => ({
    status: 200,
    payload: { status: `Blinking LED every ${payload} seconds` },
  }));
  onCommand('turnon', () => {
    ledOn = true;
    console.log('Turning on the LED');
    return { status: 200, payload: null };
  });
  onCommand('turnoff', () => {
    ledOn = false;
    console.log('Turning off the LED');
    return { status: 200, payload: null };
  });
  onCommand('rundiagnostics', () => {
    // Asynchronous: accept now, report a property named after the command when done.
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
      console.log(`Running diagnostics (${ticks}/3)… LED ${ledOn ? 'on' : 'off'}`);
      if (ticks === 3) {
        clearInterval(timer);
        void report({
          rundiagnostics: { value: `Diagnostics run complete at ${new Date().toLocaleString()}` },
        });
      }
    }, 2000);
    return { status: 202, payload: null };
  });
  handleSettings();

  await client.open();
  console.log('Device successfully connected to the hub');

  sendInterval = setInterval(sendTelemetry, 1000);
  await report({ state: 'true' });

  if (seconds > 0) setTimeout(stop, seconds * 1000);
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(sendInterval);
  console.log('Stopping');
  setTimeout(() => process.exit(0), 5000).unref();
  // Let the last PUBACKs arrive before closing.
  await new Promise((r) => setTimeout(r, 500));
  await client?.close().catch(() => undefined);
  process.exit(0);
}

process.on('SIGINT', stop);
process.on('SIGTERM', stop);

main().catch((err) => {
  console.error(`Environmental sensor failed: ${err.code ?? ''} ${err.message}`);
  if (err.result) console.error(JSON.stringify(err.result));
  process.exit(1);
});
