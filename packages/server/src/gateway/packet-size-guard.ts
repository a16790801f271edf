/**
 * Enforces the maximum incoming packet size before mqtt-packet buffers a packet: the parser
 * accumulates a whole packet in memory however large its Remaining Length says it is, so a
 * client could make us hold up to 256 MB [MQTT-2.2.3]. This scanner follows the fixed
 * headers across chunks and reports the first packet whose declared size is over the limit,
 * so the connection closes as soon as the header arrives.
 */
export class PacketSizeGuard {
  private state: 'header' | 'length' | 'body' = 'header';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(readonly maxBytes: number) {}

  /**
   * Feeds the next chunk of the byte stream. Returns the declared total size (fixed header
   * included) of the first packet over the limit, `'malformed'` for a Remaining Length longer
   * than four bytes [MQTT-2.2.3], or `undefined` when everything is within bounds.
   */
  check(chunk: Buffer): number | 'malformed' | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'header') {
        i++;
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else if (this.state === 'length') {
        const byte = chunk[i++] as number;
        this.length += (byte & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes++;
        if (byte & 0x80) {
          if (this.lengthBytes === 4) return 'malformed';
          continue;
        }
        const total = 1 + this.lengthBytes + this.length;
        if (total > this.maxBytes) return total;
        this.remaining = this.length;
        this.state = this.remaining > 0 ? 'body' : 'header';
      } else {
        const n = Math.min(this.remaining, chunk.length - i);
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'header';
      }
    }
    return undefined;
  }
}
