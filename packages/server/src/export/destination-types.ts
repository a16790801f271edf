/**
 * The registry of destination types (STYLE.md §7: a pluggable back end behind a small interface).
 * Each type checks its part of a destination body, masks its secrets for answers, and builds the
 * adapter that delivers: `webhook@v1` (IoT Central's), `mqtt@v1` and `amqp@v1` (ours:
 * destinations/mqtt.ts, destinations/amqp.ts); more plug in with {@link registerDestinationType}.
 */
import type { DestinationAdapter, FieldProblem } from './contracts.js';
import {
  createAmqpDestination,
  maskAmqpDestination,
  validateAmqpDestination,
  type AmqpDestinationConfig,
} from './destinations/amqp.js';
import {
  createMqttDestination,
  maskMqttDestination,
  validateMqttDestination,
  type MqttDestinationConfig,
} from './destinations/mqtt.js';
import {
  createWebhookDestination,
  maskWebhookDestination,
  validateWebhookDestination,
} from './destinations/webhook.js';

export type DestinationConfig = Record<string, unknown>;

export interface DestinationType {
  /** Checks the whole body (type-specific fields); the config to store, or what is wrong. */
  validate(body: unknown): { config: DestinationConfig } | { problems: FieldProblem[] };
  /** The config as answered: every secret replaced by {@link MASK}. */
  mask(config: DestinationConfig): DestinationConfig;
  create(config: DestinationConfig): DestinationAdapter;
}

/** How IoT Central answers a secret (EXPORT_RULES.md §1.3). */
export const MASK = '*****';

/** Azure's own services: refused with the list of what is supported (issue 12 §1). */
export const AZURE_TYPES = [
  'blobstorage@v1',
  'eventhubs@v1',
  'servicebusqueue@v1',
  'servicebustopic@v1',
  'dataexplorer@v1',
];

const types = new Map<string, DestinationType>([
  [
    'webhook@v1',
    {
      validate: validateWebhookDestination,
      mask: maskWebhookDestination,
      create: createWebhookDestination,
    },
  ],
  [
    'mqtt@v1',
    {
      validate: validateMqttDestination,
      mask: (c) => maskMqttDestination(c as MqttDestinationConfig),
      create: (c) => createMqttDestination(c as MqttDestinationConfig),
    },
  ],
  [
    'amqp@v1',
    {
      validate: validateAmqpDestination,
      mask: (c) => maskAmqpDestination(c as AmqpDestinationConfig),
      create: (c) => createAmqpDestination(c as AmqpDestinationConfig),
    },
  ],
]);

/** Where `mqtt@v1` and `amqp@v1` plug in (their validate / mask / create trio). */
export function registerDestinationType(type: string, impl: DestinationType): void {
  types.set(type, impl);
}

export function destinationType(type: string): DestinationType | undefined {
  return types.get(type);
}

/** The types this server exports to, for the refusal of any other. */
export function supportedDestinationTypes(): string[] {
  return [...types.keys()].sort();
}

/**
 * A PUT or PATCH body may send back the masked answer it read: every `*****` takes the stored
 * value at the same place, so a client can change a display name without knowing the secrets.
 */
export function unmask(next: unknown, stored: unknown): unknown {
  if (next === MASK) return typeof stored === 'string' ? stored : next;
  if (Array.isArray(next))
    return next.map((v, i) => unmask(v, Array.isArray(stored) ? stored[i] : undefined));
  if (next !== null && typeof next === 'object') {
    const old = stored !== null && typeof stored === 'object' ? (stored as Record<string, unknown>) : {};
    return Object.fromEntries(Object.entries(next).map(([k, v]) => [k, unmask(v, old[k])]));
  }
  return next;
}
