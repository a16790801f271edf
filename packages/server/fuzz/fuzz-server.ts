/**
 * A real Gatehouse for the fuzzers: a throwaway data folder, loopback listeners, and one
 * provisioned device of the built-in SAS group, whose valid passwords seed the conversations.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  deriveDeviceKey,
  dpsSasResource,
  hubSasResource,
  signSharedAccessSignature,
} from '@gatehouse/protocol';
import { pino } from 'pino';

import { startServer, type RunningServer } from '../src/index.js';
import { sasFleet } from '../test/helpers/sas-device.js';
import type { MqttFuzzContext } from './mqtt-packets.js';

export const FUZZ_TOKEN = 'fuzz-admin-token-0123456789abcdef';
export const FUZZ_DEVICE = 'fuzz-device';

export interface FuzzServer {
  server: RunningServer;
  baseUrl: string;
  context: MqttFuzzContext;
  /** Connects a well-formed SAS device (a health check between batches); throws if refused. */
  goodClientConnects(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFuzzServer(): Promise<FuzzServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-fuzz-'));
  const server = await startServer({
    dataDir,
    hostName: 'localhost',
    bindHost: '127.0.0.1',
    mqttPort: 0,
    httpPort: 0,
    httpsPort: 0,
    adminToken: FUZZ_TOKEN,
    logger: pino({ level: process.env['GATEHOUSE_FUZZ_LOG'] ?? 'silent' }),
    dpsRetryAfterSeconds: 0.1,
  });
  const baseUrl = `http://127.0.0.1:${server.http.port}`;
  const group = (await (
    await fetch(`${baseUrl}/api/enrollmentGroups/SAS-IoT-Devices`, {
      headers: { authorization: `Bearer ${FUZZ_TOKEN}` },
    })
  ).json()) as { attestation: { symmetricKey: { primaryKey: string } } };
  const groupKey = group.attestation.symmetricKey.primaryKey;
  const fleet = sasFleet(server, groupKey);
  const first = await fleet.connect(FUZZ_DEVICE);
  await first.endAsync();
  const key = deriveDeviceKey(groupKey, FUZZ_DEVICE);
  const expiry = Math.floor(Date.now() / 1000) + 24 * 3600;
  const context: MqttFuzzContext = {
    idScope: server.idScope,
    hostName: server.hostName,
    deviceId: FUZZ_DEVICE,
    hubSas: signSharedAccessSignature({
      resource: encodeURIComponent(hubSasResource(server.hostName, FUZZ_DEVICE)),
      key,
      expiry,
    }),
    dpsSas: signSharedAccessSignature({
      resource: dpsSasResource(server.idScope, FUZZ_DEVICE),
      key,
      expiry,
      keyName: 'registration',
    }),
  };
  let health = 0;
  return {
    server,
    baseUrl,
    context,
    async goodClientConnects() {
      const client = await fleet.connect(`fuzz-health-${health++ % 4}`);
      await client.endAsync();
    },
    async stop() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
