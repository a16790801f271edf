/**
 * A TCP relay on a fixed port (the Azure SDKs' 8883 or 443) to a server's listener, which reads
 * the server's ServerHello off the wire (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3) and records the
 * TLS version and cipher suite the server chose for every connection. The SDK runs in a child
 * process and never shows its socket; this is what the server negotiated, read from the bytes.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Handshake {
  /** 'TLSv1.2' | 'TLSv1.3', or 'none' when the server sent no ServerHello (an alert, a close). */
  version: string;
  /** The suite's OpenSSL name (TLS 1.3 suites by their IANA name, as Node reports them). */
  cipher: string;
}

const VERSIONS: Record<number, string> = { 0x0303: 'TLSv1.2', 0x0304: 'TLSv1.3' };
const SUITES: Record<number, string> = {
  0x1301: 'TLS_AES_128_GCM_SHA256',
  0x1302: 'TLS_AES_256_GCM_SHA384',
  0x1303: 'TLS_CHACHA20_POLY1305_SHA256',
  0xc02b: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  0xc02c: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  0xc02f: 'ECDHE-RSA-AES128-GCM-SHA256',
  0xc030: 'ECDHE-RSA-AES256-GCM-SHA384',
  0xcca8: 'ECDHE-RSA-CHACHA20-POLY1305',
  0xcca9: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};
const SUPPORTED_VERSIONS = 0x002b;

/**
 * The negotiated version and suite from the server's first bytes, or undefined while the
 * ServerHello is not complete yet. Throws when the bytes are not a ServerHello.
 */
export function readServerHello(bytes: Buffer): Handshake | undefined {
  // Record: type 22 (handshake), version, length; then the handshake header.
  if (bytes.length < 9) return undefined;
  if (bytes[0] !== 22) throw new Error(`the server's first record is of type ${bytes[0]}, not a handshake`);
  if (bytes.length < 5 + bytes.readUInt16BE(3)) return undefined;
  if (bytes[5] !== 2) throw new Error(`the server's first handshake message is ${bytes[5]}, not ServerHello`);
  let at = 9;
  const legacyVersion = bytes.readUInt16BE(at);
  at += 2 + 32; // version, random
  at += 1 + bytes[at]!; // legacy session id
  const suite = bytes.readUInt16BE(at);
  at += 2 + 1; // suite, compression
  let version = legacyVersion;
  const end = at + 2 + (at + 2 <= bytes.length ? bytes.readUInt16BE(at) : 0);
  for (at += 2; at + 4 <= end;) {
    const type = bytes.readUInt16BE(at);
    const length = bytes.readUInt16BE(at + 2);
    // In a ServerHello, supported_versions holds the one version selected (RFC 8446 §4.2.1).
    if (type === SUPPORTED_VERSIONS) version = bytes.readUInt16BE(at + 4);
    at += 4 + length;
  }
  return {
    version: VERSIONS[version] ?? `0x${version.toString(16)}`,
    cipher: SUITES[suite] ?? `0x${suite.toString(16)}`,
  };
}

export class TlsTap {
  readonly handshakes: Handshake[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => this.relay(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  /** The handshakes recorded from `from` (an earlier `handshakes.length`) on. */
  since(from: number): Handshake[] {
    return this.handshakes.slice(from);
  }

  private relay(client: Socket): void {
    const upstream = connect(this.target);
    let head: Buffer | undefined = Buffer.alloc(0);
    const record = (h: Handshake) => {
      this.handshakes.push(h);
      head = undefined;
    };
    upstream.on('data', (chunk: Buffer) => {
      if (head === undefined) return;
      head = Buffer.concat([head, chunk]);
      try {
        const hello = readServerHello(head);
        if (hello) record(hello);
      } catch (err) {
        record({ version: 'none', cipher: (err as Error).message });
      }
    });
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        if (s === upstream && head !== undefined) record({ version: 'none', cipher: 'closed' });
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
