/**
 * A hub device process built from the real Azure IoT device SDK (azure-iot-device
 * with the Mqtt, MqttWs or Http transport), doing what the how-to's
 * Environmental Sensor does. Run as a child process with NODE_EXTRA_CA_CERTS.
 *
 * Environment: HUB_HOST, DEVICE_ID, and CERT_FILE + KEY_FILE (x509=true) or
 * SHARED_ACCESS_KEY; TRANSPORT mqtt|mqttws|http (default mqtt);
 * TELEMETRY_COUNT (default 0) and TELEMETRY_INTERVAL_MS (default 200);
 * MODEL_ID; TOKEN_RENEWAL_SECONDS (SAS: token lifetime, renewed 5 s before
 * expiry, which makes the SDK reconnect without re-subscribing, PROTOCOL.md §3.9).
 *
 * Output: one JSON line per event on stdout ({event: 'open' | 'sent' | 'c2d' |
 * 'desired' | 'method' | 'reported' | 'twin' | 'error' | 'disconnect', …}).
 * Input: JSON lines on stdin: {cmd: 'send', body, properties?} | {cmd: 'twin'}
 * | {cmd: 'report', patch} | {cmd: 'exit'}.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import type * as DeviceSdk from 'azure-iot-device';

const require = createRequire(import.meta.url);
const { Client, Message } = require('azure-iot-device') as typeof DeviceSdk;

function emit(event: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ event, ...data }) + '\n');
}

function transportCtor(): unknown {
  switch (process.env['TRANSPORT'] ?? 'mqtt') {
    case 'mqttws':
      return (require('azure-iot-device-mqtt') as { MqttWs: unknown }).MqttWs;
    case 'http':
      return (require('azure-iot-device-http') as { Http: unknown }).Http;
    default:
      return (require('azure-iot-device-mqtt') as { Mqtt: unknown }).Mqtt;
  }
}

async function main(): Promise<void> {
  const host = process.env['HUB_HOST'] ?? 'localhost';
  const deviceId = process.env['DEVICE_ID']!;
  const key = process.env['SHARED_ACCESS_KEY'];
  const http = process.env['TRANSPORT'] === 'http';
  const cs = key
    ? `HostName=${host};DeviceId=${deviceId};SharedAccessKey=${key}`
    : `HostName=${host};DeviceId=${deviceId};x509=true`;
  const client = Client.fromConnectionString(cs, transportCtor());
  const options: Record<string, unknown> = {};
  if (!key) {
    options['cert'] = readFileSync(process.env['CERT_FILE']!, 'utf8');
    options['key'] = readFileSync(process.env['KEY_FILE']!, 'utf8');
  }
  if (process.env['MODEL_ID']) options['modelId'] = process.env['MODEL_ID'];
  if (process.env['TOKEN_RENEWAL_SECONDS']) {
    const valid = Number(process.env['TOKEN_RENEWAL_SECONDS']);
    options['tokenRenewal'] = {
      tokenValidTimeInSeconds: valid,
      tokenRenewalMarginInSeconds: Math.max(1, valid - 5),
    };
  }
  if (Object.keys(options).length > 0) {
    // The Http transport never calls back from setOptions (PROTOCOL.md §4): don't await it there.
    const set = client.setOptions(options as never);
    if (!http) await set;
  }
  client.on('error', (err: Error) => emit('error', { message: err.message, name: err.name }));
  client.on('disconnect', () => emit('disconnect'));
  client.on('message', (msg: DeviceSdk.Message) => {
    const properties: Record<string, string> = {};
    for (let i = 0; i < msg.properties.count(); i++) {
      const p = msg.properties.getItem(i);
      properties[p.key] = p.value;
    }
    emit('c2d', { body: msg.getBytes().toString(), messageId: msg.messageId, properties });
    client.complete(msg, () => undefined);
  });
  await client.open();
  emit('open');

  let twin: DeviceSdk.Twin | undefined;
  if (!http) {
    client.onDeviceMethod('blink', (req, res) => {
      emit('method', { name: 'blink', payload: req.payload });
      res.send(200, { status: `Blinking LED every ${String(req.payload)} seconds` }, () => undefined);
    });
    client.onDeviceMethod('turnon', (req, res) => {
      emit('method', { name: 'turnon', payload: req.payload });
      res.send(200, () => undefined);
    });
    client.onDeviceMethod('silent', (req) => emit('method', { name: 'silent', payload: req.payload }));
    twin = await client.getTwin();
    emit('twin', { desired: twin.properties.desired, reported: twin.properties.reported });
    await new Promise<void>((resolve, reject) =>
      twin!.properties.reported.update({ state: 'true' }, (err?: Error) => (err ? reject(err) : resolve())),
    );
    emit('reported', { patch: { state: 'true' } });
    twin.on('properties.desired', (delta: Record<string, unknown>) => {
      emit('desired', { delta });
      const version = delta['$version'];
      const ack: Record<string, unknown> = {};
      const acked = (value: unknown) => ({ value, ac: 200, ad: 'completed', av: version });
      for (const [name, value] of Object.entries(delta)) {
        if (name === '$version') continue;
        const inner = value as Record<string, unknown> | null;
        // A component's patch (PnP: `{ "__t": "c", … }`) is acknowledged inside the component.
        if (inner !== null && typeof inner === 'object' && inner['__t'] === 'c') {
          const part: Record<string, unknown> = { __t: 'c' };
          for (const [n, v] of Object.entries(inner)) if (n !== '__t') part[n] = acked(v);
          ack[name] = part;
        } else {
          ack[name] = acked(value);
        }
      }
      if (Object.keys(ack).length > 0) {
        twin!.properties.reported.update(ack, (err?: Error) =>
          err ? emit('error', { message: err.message }) : emit('reported', { patch: ack }),
        );
      }
    });
  }

  const count = Number(process.env['TELEMETRY_COUNT'] ?? '0');
  const interval = Number(process.env['TELEMETRY_INTERVAL_MS'] ?? '200');
  for (let n = 0; n < count; n++) {
    const message = new Message(JSON.stringify({ temp: 20 + n, humid: 50 + n }));
    message.contentType = 'application/json';
    message.contentEncoding = 'utf-8';
    message.properties.add('seq', String(n));
    await client.sendEvent(message);
    emit('sent', { n });
    if (n < count - 1) await new Promise((r) => setTimeout(r, interval));
  }

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    void (async () => {
      const c = JSON.parse(line) as {
        cmd: string;
        body?: string;
        properties?: Record<string, string>;
        patch?: Record<string, unknown>;
      };
      try {
        if (c.cmd === 'send') {
          const m = new Message(c.body ?? '');
          for (const [k, v] of Object.entries(c.properties ?? {})) m.properties.add(k, v);
          await client.sendEvent(m);
          emit('sent', { body: c.body });
        } else if (c.cmd === 'twin' && twin) {
          const t = await client.getTwin();
          emit('twin', { desired: t.properties.desired, reported: t.properties.reported });
        } else if (c.cmd === 'report' && twin) {
          await new Promise<void>((resolve, reject) =>
            twin!.properties.reported.update(c.patch, (err?: Error) => (err ? reject(err) : resolve())),
          );
          emit('reported', { patch: c.patch });
        } else if (c.cmd === 'exit') {
          await client.close();
          process.exit(0);
        }
      } catch (err) {
        emit('error', { message: (err as Error).message, name: (err as Error).name, cmd: c.cmd });
      }
    })();
  });
}

main().catch((err: Error) => {
  emit('error', { message: err.message, name: err.name, fatal: true });
  process.exit(1);
});
