/**
 * What the rules tests share: a template with telemetry, device properties and cloud
 * properties; a webhook receiver and an SMTP server (smtp-server) on loopback; a clock the
 * rules engine reads, moved by the tests; and a device connected over MQTT through DPS.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { MqttClient } from 'mqtt';
import { SMTPServer } from 'smtp-server';

import { DTDL_CONTEXT, IOTC_CONTEXT } from '../../src/app/dtdl.js';
import { sasFleet, type SasFleet } from './sas-device.js';
import type { TestServer } from './test-server.js';

export const RULE_TEMPLATE = 'dtmi:test:RuleSensor;1';

export const RULE_TEMPLATE_BODY = {
  '@id': RULE_TEMPLATE,
  '@type': ['ModelDefinition', 'DeviceModel'],
  displayName: 'Rule sensor',
  capabilityModel: {
    '@context': [IOTC_CONTEXT, DTDL_CONTEXT],
    '@id': 'dtmi:test:RuleSensorModel;1',
    '@type': 'Interface',
    displayName: { en: 'Rule sensor' },
    contents: [
      { '@type': 'Telemetry', name: 'temperature', schema: 'double' },
      { '@type': 'Telemetry', name: 'humidity', schema: 'double' },
      { '@type': 'Telemetry', name: 'status', schema: 'string' },
      { '@type': 'Property', name: 'firmware', schema: 'string' },
      { '@type': 'Property', name: 'battery', schema: 'double' },
      { '@type': ['Property', 'Cloud'], name: 'maxTemp', schema: 'double' },
      { '@type': ['Property', 'Cloud'], name: 'city', schema: 'string' },
    ],
  },
};

/** A clock that starts at the real time and moves only when told. */
export class TestClock {
  private offset = 0;
  now = (): number => Date.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
}

export interface Received {
  body: unknown;
  at: number;
}

/** An HTTP receiver on loopback recording each POST body; `status` is what it answers. */
export async function webhookReceiver(): Promise<{
  url: string;
  received: Received[];
  status: number;
  close(): Promise<void>;
}> {
  const received: Received[] = [];
  const state = { status: 200 };
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      received.push({ body: JSON.parse(data) as unknown, at: Date.now() });
      res
        .writeHead(state.status, { 'content-type': 'text/plain' })
        .end(state.status === 200 ? 'ok' : 'receiver broken\nsecond line');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    get status() {
      return state.status;
    },
    set status(v: number) {
      state.status = v;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Mail {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server on loopback (no TLS, any login), keeping each message's raw text. */
export async function smtpReceiver(): Promise<{ url: string; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString()));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The SAS fleet of the server's built-in group, and the rules template created. */
export async function prepareRules(server: TestServer): Promise<SasFleet> {
  const t = await server.api(
    'PUT',
    `/api/deviceTemplates/${encodeURIComponent(RULE_TEMPLATE)}`,
    RULE_TEMPLATE_BODY,
  );
  if (t.status !== 200) throw new Error(`template refused: ${JSON.stringify(t.body)}`);
  const group = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
    'GET',
    '/api/enrollmentGroups/SAS-IoT-Devices',
  );
  return sasFleet(server, group.body.attestation.symmetricKey.primaryKey);
}

/** Connects `id` through DPS and gives it the rules template. */
export async function ruleDevice(server: TestServer, fleet: SasFleet, id: string): Promise<MqttClient> {
  const client = await fleet.connect(id);
  const r = await server.api('PATCH', `/api/devices/${id}`, { template: RULE_TEMPLATE });
  if (r.status !== 200) throw new Error(`template not assigned: ${JSON.stringify(r.body)}`);
  return client;
}

export async function send(client: MqttClient, id: string, body: Record<string, unknown>): Promise<void> {
  await client.publishAsync(`devices/${id}/messages/events/`, JSON.stringify(body), { qos: 1 });
}
