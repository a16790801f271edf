/**
 * Response schemas of the data export operations (export/data-export.ts: a destination or an
 * export as stored, secrets `*****`, with its delivery status `DeliveryStatus`).
 */
import type { JsonSchema } from '../routes/schema.js';
import { EXPORT_SOURCES } from '../../export/export-config.js';
import { anyJson, arr, bool, dateTime, int, map, nullable, obj, page, str, strEnum } from './common.js';

/**
 * The delivery status fields (`DeliveryStatus`): `errors` holds the last failure of each failing
 * delivery in words; `lastExportTime` is absent until something was delivered; `backlog`,
 * `delivered` and `dropped` are Gatehouse's counters.
 */
function withStatus(
  idle: string,
  required: Record<string, JsonSchema>,
  optional: Record<string, JsonSchema> = {},
): JsonSchema {
  return obj(
    {
      ...required,
      status: strEnum(idle, 'healthy', 'error'),
      errors: arr(obj({ code: str, message: str })),
      backlog: int,
      delivered: int,
      dropped: int,
    },
    { ...optional, lastExportTime: dateTime },
  );
}

/** A query or header customization of a webhook; a secret one's `value` is `*****`. */
const CUSTOMIZATION = obj({ value: str, secret: bool });

/**
 * `authorization`: webhook@v1's `header` (value `*****`) or `oauth` (clientSecret `*****`), or a
 * broker's (mqtt@v1, amqp@v1) `none`, `userNamePassword` (password `*****`) or
 * `clientCertificate` (privateKey `*****`).
 */
const AUTHORIZATION: JsonSchema = {
  oneOf: [
    obj({ type: strEnum('header'), value: str }),
    obj(
      {
        type: strEnum('oauth'),
        tokenUrl: str,
        clientId: str,
        clientSecret: str,
        requestType: strEnum('auto', 'json', 'urlencoded'),
      },
      { audience: str, scope: str },
    ),
    obj({ type: strEnum('none') }),
    obj({ type: strEnum('userNamePassword'), userName: str, password: str }),
    obj({ type: strEnum('clientCertificate'), certificate: str, privateKey: str }),
  ],
};

/**
 * A destination with its status (`waiting` while no enabled export uses it). The fields of its
 * type: webhook@v1 `url`, `queryCustomizations?`, `headerCustomizations?`, `authorization?`,
 * `signature?` (secret `*****`), `batching?`; mqtt@v1 `url`, `topic`, `qos`, `clientId?`,
 * `caCertificate?`, `authorization`; amqp@v1 `url`, `exchange`, `routingKey`, `caCertificate?`,
 * `authorization`.
 */
export const DESTINATION = withStatus(
  'waiting',
  { id: str, displayName: str, type: str },
  {
    url: str,
    queryCustomizations: map(CUSTOMIZATION),
    headerCustomizations: map(CUSTOMIZATION),
    authorization: AUTHORIZATION,
    signature: obj({ header: str, secret: str }),
    batching: obj({ enabled: bool, maxMessages: int }),
    topic: str,
    qos: { type: 'integer', enum: [0, 1] },
    clientId: str,
    caCertificate: str,
    exchange: str,
    routingKey: str,
  },
);

export const DESTINATION_PAGE = page(DESTINATION);

/** An enrichment: a custom `value`, a system property `path`, or a property `{ target, path }`. */
const ENRICHMENT: JsonSchema = { anyOf: [obj({ value: str }), obj({ path: str }, { target: str })] };

/** One destination of an export, with the status of that export's deliveries to it. */
const EXPORT_DESTINATION = withStatus('notStarted', { id: str }, { transform: str });

/** An export with its status (`notStarted` while disabled) overall and per destination. */
export const EXPORT = withStatus(
  'notStarted',
  {
    id: str,
    displayName: str,
    enabled: bool,
    source: strEnum(...EXPORT_SOURCES),
    enrichments: map(ENRICHMENT),
    destinations: arr(EXPORT_DESTINATION),
  },
  { filter: str },
);

export const EXPORT_PAGE = page(EXPORT);

/** `POST …/destinations/{id}/test`: the telemetry message delivered, in IoT Central's format. */
export const DESTINATION_TEST = obj({
  delivered: { type: 'boolean', enum: [true] },
  message: obj({
    applicationId: str,
    messageSource: strEnum('telemetry'),
    deviceId: str,
    schema: str,
    templateId: nullable(str),
    enqueuedTime: dateTime,
    telemetry: map(anyJson),
    enrichments: map(anyJson),
    messageProperties: map(str),
  }),
});
