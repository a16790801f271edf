/**
 * The baselines of the provisioning benchmark, each a bare Node TLS server with the same
 * certificate and the same client-certificate request. Runs as its own process; prints its port.
 *
 * - `handshake` (default): the handshake and nothing else.
 * - `canned-dps`: the handshake, then the DPS exchange a registration makes (CONNECT,
 *   SUBSCRIBE, register, poll, DISCONNECT) answered with fixed packets: no attestation, no
 *   store, no routing, every reply written with the PUBACK before it. It is the floor of any
 *   Node.js server on the same wire exchange, the part of a registration's cost that is TLS
 *   records, packets and sockets rather than provisioning.
 */
import { readFileSync } from 'node:fs';
import { createServer, type TLSSocket } from 'node:tls';
import { generate, parser as createParser, type Packet } from 'mqtt-packet';

const [certFile, keyFile, mode = 'handshake'] = process.argv.slice(2);
if (mode !== 'handshake' && mode !== 'canned-dps') {
  process.stderr.write(`tls-echo-server: unknown mode '${mode}' (handshake, canned-dps)\n`);
  process.exit(2);
}

const CONNACK = generate({ cmd: 'connack', returnCode: 0, sessionPresent: false });
const OPERATION_ID = '5.0123456789abcdef.00000000-0000-4000-8000-000000000000';

function reply(status: number, rid: string, body: object): Buffer {
  return generate({
    cmd: 'publish',
    topic: `$dps/registrations/res/${status}/?$rid=${rid}&retry-after=0`,
    payload: Buffer.from(JSON.stringify(body)),
    qos: 0,
    retain: false,
    dup: false,
  });
}

/** Fixed answers to the exchange of bench/provisioning.ts, with the sizes the real server sends. */
function cannedDps(socket: TLSSocket): void {
  const parser = createParser({ protocolVersion: 4 });
  socket.on('data', (d: Buffer) => parser.parse(d));
  socket.on('error', () => socket.destroy());
  parser.on('error', () => socket.destroy());
  parser.on('packet', (p: Packet) => {
    switch (p.cmd) {
      case 'connect':
        socket.write(CONNACK);
        break;
      case 'subscribe':
        socket.write(generate({ cmd: 'suback', messageId: p.messageId!, granted: [1] }));
        break;
      case 'publish': {
        const rid = /\$rid=(\d+)/.exec(p.topic)?.[1] ?? '0';
        const puback = generate({ cmd: 'puback', messageId: p.messageId! });
        const body = p.topic.includes('iotdps-register')
          ? { operationId: OPERATION_ID, status: 'assigning' }
          : {
              operationId: OPERATION_ID,
              status: 'assigned',
              registrationState: {
                registrationId: 'canned',
                createdDateTimeUtc: new Date().toISOString(),
                assignedHub: 'localhost',
                deviceId: 'canned',
                status: 'assigned',
                substatus: 'initialAssignment',
                lastUpdatedDateTimeUtc: new Date().toISOString(),
                etag: 'IjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMCI=',
              },
            };
        socket.write(Buffer.concat([puback, reply(body.status === 'assigning' ? 202 : 200, rid, body)]));
        break;
      }
      case 'disconnect':
        socket.end();
        break;
      default:
        break;
    }
  });
}

const server = createServer(
  {
    cert: readFileSync(certFile!),
    key: readFileSync(keyFile!),
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  },
  (socket) => {
    socket.getPeerCertificate(true);
    if (mode === 'canned-dps') cannedDps(socket);
    else socket.end();
  },
);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
