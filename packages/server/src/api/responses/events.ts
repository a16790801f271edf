/** Response schemas of the event streams (api/routes/events.ts): server-sent events, not JSON. */
import type { JsonSchema } from '../routes/schema.js';

export const EVENT_STREAM: JsonSchema = { type: 'string', description: 'text/event-stream' };
