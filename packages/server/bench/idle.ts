/**
 * `npm run bench -- idle [--devices K]`
 *
 * K idle devices (default 5,000) hold an authenticated MQTT/TLS connection to
 * `gatehouse serve` (its own process); prints the server's resident memory per
 * connection, and the same for mosquitto under the same load generator.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_TOKEN, enrollFleet, makeFleet, serverTls, type Fleet } from './fleet.js';
import { LeanClient } from './lean-client.js';
import { mosquittoAvailable, startMosquitto } from './mosquitto.js';
import { arg, rssBytes, startServe } from './util.js';

const K = arg('devices', 5000);

async function connectMany(
  fleet: Fleet,
  port: number,
  ca: Buffer,
  username: (id: string) => string | undefined,
): Promise<LeanClient[]> {
  const clients: LeanClient[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < fleet.devices.length) {
        const d = fleet.devices[next++]!;
        const u = username(d.id);
        clients.push(
          await LeanClient.connect({
            host: '127.0.0.1',
            port,
            tls: { ca, cert: d.cert, key: d.key, servername: 'localhost' },
            clientId: d.id,
            clean: false,
            ...(u ? { username: u } : {}),
          }),
        );
      }
    }),
  );
  return clients;
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 3000));
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  process.stdout.write(`idle benchmark: ${K} connected devices\n`);
  const fleet = await makeFleet(K, 'idle');
  const server = await startServe(dataDir, BENCH_TOKEN);
  const result: Record<string, unknown> = { devices: K };
  try {
    await enrollFleet(server, fleet);
    const tls = await serverTls(server, dataDir);
    await settle();
    const before = rssBytes(server.child.pid!);
    const clients = await connectMany(
      fleet,
      server.mqttPort,
      tls.ca,
      (id) => `localhost/${id}/?api-version=2021-04-12`,
    );
    await settle();
    const after = rssBytes(server.child.pid!);
    const perConnection = (after - before) / clients.length;
    result['gatehouse'] = {
      connected: clients.length,
      rssBeforeMiB: before / 2 ** 20,
      rssAfterMiB: after / 2 ** 20,
      bytesPerConnection: Math.round(perConnection),
    };
    process.stdout.write(
      `gatehouse   ${clients.length} connected, RSS ${(before / 2 ** 20).toFixed(0)} → ${(after / 2 ** 20).toFixed(0)} MiB, ${(perConnection / 1024).toFixed(1)} KiB per connection\n`,
    );
    clients.forEach((c) => c.destroy());

    if (mosquittoAvailable()) {
      const rootFile = join(dataDir, 'bench-root.pem');
      await writeFile(rootFile, fleet.root.certificate.pem);
      const broker = await startMosquitto(dataDir, {
        cafile: rootFile,
        certfile: tls.certfile,
        keyfile: tls.keyfile,
      });
      try {
        const mBefore = rssBytes(broker.child.pid!);
        const mclients = await connectMany(fleet, broker.port, tls.ca, () => undefined);
        await settle();
        const mAfter = rssBytes(broker.child.pid!);
        const mPer = (mAfter - mBefore) / mclients.length;
        result['mosquitto'] = { connected: mclients.length, bytesPerConnection: Math.round(mPer) };
        result['ratio'] = Number((perConnection / mPer).toFixed(2));
        process.stdout.write(
          `mosquitto   ${mclients.length} connected, ${(mPer / 1024).toFixed(1)} KiB per connection (ratio ${String(result['ratio'])})\n`,
        );
        mclients.forEach((c) => c.destroy());
      } finally {
        await broker.stop();
      }
    }
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

await main();
