/** Response schema of `GET /api/stats` (app/stats.ts `Stats`). */
import { int, obj } from './common.js';

export const STATS = obj({
  devicesTotal: int,
  devicesConnected: int,
  /** Telemetry messages stored in the last 60 seconds. */
  messagesPerMinute: int,
  messagesLastHour: int,
});
