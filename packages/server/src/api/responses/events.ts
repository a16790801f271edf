/** Response schemas of the event streams (api/routes/events.ts): server-sent events, not JSON. */
import type { JsonSchema } from '../routes/schema.js';
import { text } from './common.js';

export const EVENT_STREAM: JsonSchema = text('text/event-stream', 'Server-sent events');
