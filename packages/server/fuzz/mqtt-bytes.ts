/**
 * MQTT packets written byte by byte, for the inputs mqtt-packet's generator refuses to produce
 * (wrong lengths, reserved flags, ill-formed strings): the rule tables, the parser-limits
 * benchmark.
 */

/** A Remaining Length: 7 bits a byte, high bit set while more follow [MQTT-2.2.3]. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** A packet: the first byte (type and flags) and its body. */
export function pkt(first: number, ...body: Buffer[]): Buffer {
  const b = Buffer.concat(body);
  return Buffer.concat([Buffer.from([first]), varint(b.length), b]);
}

/** An MQTT string (two-byte length, then the bytes as given: they may be ill-formed on purpose). */
export function str(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
}
