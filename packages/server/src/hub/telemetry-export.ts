/**
 * Stored messages of one device for an export (CSV), read a page at a time in (time, id)
 * order so a long window never sits in memory whole.
 */
import { decodeBody } from './message-body.js';
import type { TelemetryStore } from './telemetry-store.js';

const PAGE = 2000;

export interface ExportedMessage {
  enqueuedTime: string;
  component: string | null;
  /** The body as JSON text when it is JSON, else its text, else base64. */
  body: string;
}

export class TelemetryExport {
  constructor(
    private readonly store: TelemetryStore,
    private readonly device: (id: string) => Promise<unknown>,
  ) {}

  /** Throws (404) before anything is streamed when the device does not exist. */
  async checkDevice(deviceId: string): Promise<void> {
    await this.device(deviceId);
  }

  /** Up to `limit` messages in [from, to), oldest first. */
  async *messages(
    deviceId: string,
    from: string,
    to: string,
    limit: number,
  ): AsyncGenerator<ExportedMessage> {
    let after: { enqueuedAt: string; id: number } | undefined;
    let left = limit;
    while (left > 0) {
      const page = await this.store.scan(deviceId, {
        from,
        to,
        limit: Math.min(PAGE, left),
        ...(after ? { after } : {}),
      });
      for (const m of page) {
        const decoded = decodeBody(m.body);
        yield {
          enqueuedTime: m.enqueuedAt,
          component: m.component,
          body: decoded.bodyEncoding === 'json' ? JSON.stringify(decoded.body) : (decoded.body as string),
        };
      }
      const last = page.at(-1);
      if (!last || page.length < Math.min(PAGE, left)) return;
      left -= page.length;
      after = { enqueuedAt: last.enqueuedAt, id: last.id };
    }
  }
}
