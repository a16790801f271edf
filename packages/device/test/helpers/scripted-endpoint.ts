/**
 * A scripted MQTT/TLS endpoint that records every packet the client sends and answers as the
 * test says — the same capture method PROTOCOL.md §0 used against the Azure SDK, so the tests
 * compare our packets with the observed ones field by field.
 */
import { createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { generate, parser, type Packet } from 'mqtt-packet';
import { createRootCa, createServerCertificate } from '@gatehouse/pki';

export interface ScriptedEndpoint {
  port: number;
  /** PEM of the CA that signed the endpoint's certificate (CN/SAN localhost). */
  ca: string;
  packets: Packet[];
  close(): Promise<void>;
}

export type Script = (packet: Packet, reply: (p: Packet) => void, socket: TLSSocket) => void;

export async function startScriptedEndpoint(script: Script): Promise<ScriptedEndpoint> {
  const root = await createRootCa({ commonName: 'scripted-endpoint-ca' });
  const cert = await createServerCertificate({
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    issuer: root,
  });
  const packets: Packet[] = [];
  const sockets = new Set<TLSSocket>();
  const server = createServer(
    { key: cert.privateKey.toPem(), cert: cert.chain.map((c) => c.pem).join('') },
    (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      const p = parser({ protocolVersion: 4 });
      p.on('packet', (packet: Packet) => {
        packets.push(packet);
        script(packet, (answer) => socket.write(generate(answer)), socket);
      });
      socket.on('data', (chunk: Buffer) => p.parse(chunk));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    ca: root.certificate.pem,
    packets,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
