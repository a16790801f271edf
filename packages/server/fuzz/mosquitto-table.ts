/**
 * `npm run fuzz -- mosquitto-table --data DIR`: mosquitto's broker conformance table
 * (`test/broker/data/*.json` of a mosquitto source tree, not shipped here) run against the
 * gateway in process (target F3 of HARDENING.md §8). Each case is a byte sequence a client
 * sends, after a default CONNECT unless the case brings its own; a "must disconnect" case
 * passes when the connection is closed and nothing was accepted beyond what the case itself
 * expects (no CONNACK 0, SUBACK, UNSUBACK, PUBACK, PUBREC or PUBCOMP more than its `recv`
 * lines). Gatehouse is not a general broker, so the default CONNECT is the fuzz server's SAS
 * device signing in to the hub, and each close is reported with its reason: a protocol error
 * caught by the parser or the packet rules, a CONNECT refused (the case's own CONNECT carries
 * no credentials, or is MQTT 3.1 / 5), or only the device topic policy. The "expect ok" cases
 * exchange messages between clients on free topics, which a device may not use; their
 * outcome is reported, not judged.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as tick, setTimeout as delay } from 'node:timers/promises';

import { generate, parser as createParser, type Packet } from 'mqtt-packet';

import type { GatewayOptions, MqttPeer } from '../src/gateway/gateway-options.js';
import { handleMqttStream } from '../src/gateway/mqtt-stream.js';
import type { MqttFuzzContext } from './mqtt-packets.js';
import { FuzzStream } from './mqtt-target.js';

interface TableMessage {
  type: 'send' | 'recv' | 'publish';
  payload?: string;
}

interface TableCase {
  name: string;
  ver?: number;
  connect?: boolean;
  expect_disconnect?: boolean;
  msgs: TableMessage[];
}

interface TableGroup {
  group: string;
  disable?: boolean;
  tests: TableCase[];
}

/** How a case ended. */
export interface CaseOutcome {
  file: string;
  name: string;
  version: number;
  mustDisconnect: boolean;
  closed: boolean;
  /** The gateway's close reason (close-reason.ts), when closed. */
  reason: string | undefined;
  /** Accepting answers sent beyond what the case's `recv` lines expect. */
  extraAccepts: string[];
  /** The case passes: closed with nothing extra accepted (must-disconnect), or still open (ok). */
  pass: boolean;
}

const PEER: MqttPeer = { peerCertificates: [], remoteAddress: '127.0.0.1', transport: 'mqtt' };
const ACCEPTS = new Set(['connack', 'suback', 'unsuback', 'puback', 'pubrec', 'pubcomp']);
const CLIENT_TYPES: Record<number, string> = {
  2: 'connack',
  9: 'suback',
  11: 'unsuback',
  4: 'puback',
  5: 'pubrec',
  7: 'pubcomp',
};

function hex(payload: string | undefined): Buffer {
  return Buffer.from((payload ?? '').replace(/\s+/g, ''), 'hex');
}

/** The accepting answers among `bytes` the gateway wrote (a CONNACK only when it accepts). */
function acceptsIn(bytes: Buffer, version: number): string[] {
  const out: string[] = [];
  const p = createParser({ protocolVersion: version === 5 ? 5 : 4 });
  p.on('packet', (packet: Packet) => {
    if (packet.cmd === 'connack' && packet.returnCode !== 0 && packet.reasonCode !== 0) return;
    if (ACCEPTS.has(packet.cmd)) out.push(packet.cmd);
  });
  p.on('error', () => undefined);
  p.parse(bytes);
  return out;
}

/** The accepting answers a case's `recv` lines expect, by their packet type nibble. */
function expectedAccepts(c: TableCase): string[] {
  return c.msgs
    .filter((m) => m.type === 'recv')
    .map((m) => hex(m.payload))
    .filter((b) => b.length > 0 && !(b[0]! >> 4 === 2 && b.length >= 4 && b[3] !== 0))
    .map((b) => CLIENT_TYPES[b[0]! >> 4])
    .filter((t): t is string => t !== undefined);
}

function defaultConnect(context: MqttFuzzContext, version: number): Buffer {
  return generate(
    {
      cmd: 'connect',
      protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: version as 3 | 4 | 5,
      clientId: context.deviceId,
      username: `${context.hostName}/${context.deviceId}/?api-version=2021-04-12`,
      password: Buffer.from(context.hubSas),
      keepalive: 60,
      clean: true,
    },
    { protocolVersion: version === 5 ? 5 : 4 },
  );
}

async function settle(stream: FuzzStream, isClosing: () => boolean, ms: number): Promise<void> {
  for (let i = 0; i < 3 && !isClosing(); i++) await tick();
  const until = performance.now() + ms;
  let seen = -1;
  while (!isClosing() && stream.output.length !== seen && performance.now() < until) {
    seen = stream.output.length;
    await delay(5);
  }
}

/** The MQTT version a group's cases speak, from its name ('v3.1   CONNECT', 'v5.0   PUBLISH'…). */
export function groupVersion(group: string): number {
  if (group.startsWith('v5')) return 5;
  if (/^v3\.1(?!\.1)/.test(group)) return 3;
  return 4;
}

export async function runCase(
  gateway: GatewayOptions,
  context: MqttFuzzContext,
  file: string,
  c: TableCase,
  groupDefault = 4,
): Promise<CaseOutcome> {
  const version = c.ver ?? groupDefault;
  const mustDisconnect = c.expect_disconnect ?? true;
  const stream = new FuzzStream(true);
  const conn = handleMqttStream(stream, PEER, gateway);
  const closing = () => conn.isClosing;
  let preamble = 0;
  if (c.connect ?? true) {
    stream.push(defaultConnect(context, version));
    await settle(stream, closing, 200);
    preamble = stream.output.length;
  }
  for (const m of c.msgs) {
    if (closing()) break;
    if (m.type === 'send') {
      stream.push(hex(m.payload));
      await settle(stream, closing, 50);
    }
    // 'recv' lines are not compared byte for byte (the answers are a device's, not a broker's);
    // 'publish' lines need a second client on a free topic, which a device may not have.
  }
  await settle(stream, closing, 100);
  const closed = conn.isClosing;
  const sent = acceptsIn(Buffer.concat(stream.output.slice(preamble)), version);
  const expected = expectedAccepts(c);
  const extraAccepts = [...sent];
  for (const e of expected) {
    const i = extraAccepts.indexOf(e);
    if (i >= 0) extraAccepts.splice(i, 1);
  }
  stream.push(null);
  stream.destroy();
  await Promise.race([conn.closed, delay(2000)]);
  return {
    file,
    name: c.name.trim(),
    version,
    mustDisconnect,
    closed,
    reason: closed ? conn.reason : undefined,
    extraAccepts,
    pass: mustDisconnect ? closed && extraAccepts.length === 0 : !closed,
  };
}

export interface TableReport {
  target: 'mosquitto-table';
  data: string;
  byVersion: Record<
    string,
    {
      mustDisconnect: number;
      disconnectedNothingExtra: number;
      byReason: Record<string, number>;
      expectOk: number;
      expectOkStillOpen: number;
      expectOkClosedByReason: Record<string, number>;
    }
  >;
  /** Must-disconnect cases that failed, or were closed by the topic policy alone. */
  findings: Array<Pick<CaseOutcome, 'file' | 'name' | 'version' | 'closed' | 'reason' | 'extraAccepts'>>;
}

export async function runMosquittoTable(
  gateway: GatewayOptions,
  context: MqttFuzzContext,
  dir: string,
): Promise<TableReport> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`${dir} holds no *.json case files (mosquitto's test/broker/data)`);
  const report: TableReport = { target: 'mosquitto-table', data: dir, byVersion: {}, findings: [] };
  for (const file of files) {
    const groups = JSON.parse(await readFile(join(dir, file), 'utf8')) as TableGroup[];
    for (const g of groups) {
      if (g.disable) continue;
      for (const c of g.tests) {
        const o = await runCase(gateway, context, file, c, groupVersion(g.group));
        const v = (report.byVersion[['', '', '', 'v3.1', 'v3.1.1', 'v5.0'][o.version] ?? `v${o.version}`] ??=
          {
            mustDisconnect: 0,
            disconnectedNothingExtra: 0,
            byReason: {},
            expectOk: 0,
            expectOkStillOpen: 0,
            expectOkClosedByReason: {},
          });
        const reason = o.reason ?? 'still open';
        if (o.mustDisconnect) {
          v.mustDisconnect++;
          if (o.pass) v.disconnectedNothingExtra++;
          v.byReason[reason] = (v.byReason[reason] ?? 0) + 1;
          if (!o.pass || o.reason === 'forbidden') {
            const { file: f, name, version, closed, extraAccepts } = o;
            report.findings.push({
              file: f,
              name: `${g.group.trim()} ${name}`,
              version,
              closed,
              reason,
              extraAccepts,
            });
          }
        } else {
          v.expectOk++;
          if (o.pass) v.expectOkStillOpen++;
          else v.expectOkClosedByReason[reason] = (v.expectOkClosedByReason[reason] ?? 0) + 1;
        }
      }
    }
  }
  return report;
}
