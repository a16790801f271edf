import { createServer, connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { fork } from 'node:child_process';
import { createRootCa, createDeviceCertificate, createServerCertificate } from '@gatehouse/pki';
const K = Number(process.argv[2] ?? 3000);
const mode = process.argv[3] ?? 'plain';
if (process.argv[4] === 'server') {
  const [cert, key] = JSON.parse(process.env.SRV);
  const socks = new Set();
  const server = createServer({ cert, key, requestCert: mode !== 'nocert', rejectUnauthorized: false, minVersion: 'TLSv1.2', ...(mode === 'tls12' ? { maxVersion: 'TLSv1.2' } : {}), ...(mode === 'noticket' ? { secureOptions: (await import('node:crypto')).constants.SSL_OP_NO_TICKET } : {}) }, (s) => {
    socks.add(s); s.on('close', () => socks.delete(s));
    if (mode === 'peek') s.getPeerCertificate(true);
    s.on('data', () => {});
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
} else {
  const root = await createRootCa({ commonName: 'r' });
  const srv = await createServerCertificate({ commonName: 'localhost', issuer: root, dnsNames: ['localhost'] });
  const dev = await createDeviceCertificate({ commonName: 'd', issuer: root });
  const child = fork(new URL(import.meta.url).pathname, [String(K), mode, 'server'], { env: { ...process.env, SRV: JSON.stringify([srv.certificate.pem, srv.privateKey.toPem()]) } });
  const port = await new Promise((r) => child.once('message', r));
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]);
  await new Promise((r) => setTimeout(r, 1000));
  const before = rss();
  const clients = [];
  for (let i = 0; i < K; i += 50) await Promise.all(Array.from({ length: 50 }, () => new Promise((res, rej) => { const s = connect({ port, host: '127.0.0.1', ca: root.certificate.pem, cert: dev.certificate.pem, key: dev.privateKey.toPem(), servername: 'localhost' }, () => { s.write(Buffer.alloc(20)); res(); }); s.on('error', rej); clients.push(s); })));
  await new Promise((r) => setTimeout(r, 3000));
  console.log(mode, K, 'KiB per connection', ((rss() - before) / K).toFixed(1));
  clients.forEach((c) => c.destroy()); child.kill();
}
