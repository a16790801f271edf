import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

/** `GET /api/stats`: the numbers the dashboard's KPI tiles show. */
export interface Stats {
  devicesTotal: number;
  devicesConnected: number;
  /** Telemetry messages stored in the last 60 seconds. */
  messagesPerMinute: number;
  messagesLastHour: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * Application-wide counts. Connected devices come from the hub's live
 * connection registry (not the store: a crash leaves no stale "connected"),
 * messages from the telemetry table (ISO times compare as text, and the
 * `telemetry_time` index serves the range).
 */
export class StatsService {
  private readonly now: () => Date;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: { connectedDevices: () => number; now?: () => Date },
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async get(): Promise<Stats> {
    const now = this.now().getTime();
    const devices = await this.db
      .selectFrom('devices')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return {
      devicesTotal: Number(devices.n),
      devicesConnected: this.options.connectedDevices(),
      messagesPerMinute: await this.messagesSince(now - MINUTE_MS),
      messagesLastHour: await this.messagesSince(now - HOUR_MS),
    };
  }

  private async messagesSince(ms: number): Promise<number> {
    const row = await this.db
      .selectFrom('telemetry')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('enqueued_at', '>=', new Date(ms).toISOString())
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
