/**
 * Exported messages in IoT Central's exact formats (EXPORT_RULES.md §2.1–§2.7): `schema`
 * `default@v1`, `enqueuedTime` ISO-8601 UTC with milliseconds, fields in the documented order,
 * so a consumer written for IoT Central's export works unchanged.
 */
import type { FeedItem } from './feeds.js';

export const SCHEMA = 'default@v1';

/** Telemetry (§2.2); `module` and `component` only when the message has them. */
export function telemetryMessage(
  applicationId: string,
  item: FeedItem,
  templateId: string | null | undefined,
  enrichments: Record<string, unknown>,
): Record<string, unknown> {
  return {
    applicationId,
    messageSource: 'telemetry',
    deviceId: item.deviceId,
    schema: SCHEMA,
    templateId: templateId ?? null,
    enqueuedTime: item.enqueuedAt,
    telemetry: item.telemetry ?? {},
    enrichments,
    ...(item.module ? { module: item.module } : {}),
    ...(item.component ? { component: item.component } : {}),
    messageProperties: item.messageProperties ?? {},
  };
}

/** An outbox or audit message (§2.3–§2.7): applicationId first, enrichments added. */
export function storedMessage(
  applicationId: string,
  item: FeedItem,
  enrichments: Record<string, unknown> | undefined,
): Record<string, unknown> {
  return { applicationId, ...item.message, ...(enrichments !== undefined ? { enrichments } : {}) };
}

/** A property change's `properties` array (§2.3): one entry per changed property, components unwrapped. */
export function changedProperties(
  patch: Record<string, unknown>,
  isComponent: (name: string, value: unknown) => boolean,
): Array<{ name: string; value: unknown; component?: string }> {
  const out: Array<{ name: string; value: unknown; component?: string }> = [];
  for (const [name, value] of Object.entries(patch)) {
    if (name.startsWith('$')) continue;
    if (isComponent(name, value)) {
      for (const [inner, v] of Object.entries(value as Record<string, unknown>)) {
        if (inner === '__t' || inner.startsWith('$')) continue;
        out.push({ component: name, name: inner, value: v });
      }
    } else out.push({ name, value });
  }
  return out;
}

/** The envelope of connectivity and lifecycle messages (§2.4, §2.5). */
export function deviceEventMessage(
  messageSource: 'deviceConnectivity' | 'deviceLifecycle',
  messageType: string,
  deviceId: string,
  templateId: string | null | undefined,
  enqueuedTime: string,
): Record<string, unknown> {
  return {
    messageSource,
    messageType,
    deviceId,
    schema: SCHEMA,
    templateId: templateId ?? null,
    enqueuedTime,
  };
}
