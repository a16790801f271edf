/**
 * The baseline of the provisioning benchmark: a bare Node TLS server with the
 * same certificate and the same client-certificate request, doing nothing but
 * the handshake. Runs as its own process; prints its port.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';

const [certFile, keyFile] = process.argv.slice(2);
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
    socket.end();
  },
);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
