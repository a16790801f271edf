/**
 * From stored items to what a destination receives: filter (export-filter.ts), enrichments
 * (enrichments.ts), IoT Central's format (message-format.ts), then the destination's transform.
 * A transform sees IoT Central's pre-transformation shape (EXPORT_RULES.md §2.8): telemetry as an
 * array of `{ name, value }` and a `device` object; it may output none or several messages.
 */
import type { DeviceQuery } from '../app/device-query.js';
import type { Transform } from './contracts.js';
import type { DeviceSnapshot, DeviceSnapshots } from './device-snapshot.js';
import { enrich, type Enrichment } from './enrichments.js';
import { matchesFilter } from './export-filter.js';
import type { FeedItem } from './feeds.js';
import { storedMessage, telemetryMessage } from './message-format.js';

export interface Prepared {
  /** The message in IoT Central's format. */
  message: Record<string, unknown>;
  device: DeviceSnapshot | undefined;
  item: FeedItem;
}

export interface PipelineSpec {
  applicationId: string;
  source: string;
  filter: DeviceQuery | undefined;
  enrichments: Record<string, Enrichment>;
}

/** Sources whose messages carry `enrichments` (§1.4: all but template lifecycle and audit get them; audit has `{}`). */
const ENRICHED = new Set([
  'telemetry',
  'properties',
  'deviceConnectivity',
  'deviceLifecycle',
  'deviceTemplateLifecycle',
  'audit',
]);

/** Filters, enriches and formats the items of one batch (items of other sources are skipped). */
export async function prepare(
  spec: PipelineSpec,
  items: readonly FeedItem[],
  devices: DeviceSnapshots,
): Promise<Prepared[]> {
  const out: Prepared[] = [];
  for (const item of items) {
    if (item.source !== spec.source) continue;
    const device = item.deviceId !== undefined ? await devices.get(item.deviceId) : undefined;
    if (spec.filter) {
      if (spec.source === 'audit') {
        /* audit has no filters (EXPORT_RULES.md §2.7) */
      } else if (spec.source === 'deviceTemplateLifecycle') {
        if (spec.filter.template !== undefined && spec.filter.template !== item.templateId) continue;
      } else if (!device || !matchesFilter(spec.filter, device, item)) continue;
    }
    if (spec.source === 'telemetry') {
      // Only JSON objects are telemetry IoT Central can export.
      if (!item.telemetry) continue;
      out.push({
        message: telemetryMessage(
          spec.applicationId,
          item,
          device?.template,
          enrich(spec.enrichments, device),
        ),
        device,
        item,
      });
    } else {
      const enrichments = ENRICHED.has(spec.source) ? enrich(spec.enrichments, device) : undefined;
      out.push({ message: storedMessage(spec.applicationId, item, enrichments), device, item });
    }
  }
  return out;
}

/** IoT Central's transform input (§2.8). */
export function transformInput(p: Prepared): Record<string, unknown> {
  const { message, device } = p;
  const telemetry = message['telemetry'];
  const input: Record<string, unknown> = { ...message };
  if (telemetry !== null && typeof telemetry === 'object' && !Array.isArray(telemetry)) {
    input['telemetry'] = Object.entries(telemetry).map(([name, value]) => ({ name, value }));
  }
  if (device) {
    input['device'] = {
      id: device.id,
      name: device.displayName,
      templateId: device.template,
      templateName: device.templateDisplayName ?? null,
      properties: {
        reported: Object.entries(device.reported)
          .filter(([k]) => !k.startsWith('$'))
          .map(([name, value]) => ({ name, value })),
      },
      cloudProperties: Object.entries(device.cloud).map(([name, value]) => ({ name, value })),
      simulated: device.simulated,
      approved: device.enabled,
      blocked: !device.enabled,
      provisioned: device.provisioned,
    };
  }
  return input;
}

/** The messages one destination gets: the formatted ones, or its transform's outputs. */
export async function applyTransform(
  prepared: readonly Prepared[],
  transform: Transform | undefined,
): Promise<{ messages: unknown[]; items: Array<{ deviceId?: string; messageSource: string }> }> {
  const messages: unknown[] = [];
  const items: Array<{ deviceId?: string; messageSource: string }> = [];
  for (const p of prepared) {
    const ctx = {
      ...(p.item.deviceId !== undefined ? { deviceId: p.item.deviceId } : {}),
      messageSource: p.item.source,
    };
    const outputs = transform ? await transform.apply(transformInput(p)) : [p.message];
    for (const o of outputs) {
      messages.push(o);
      items.push(ctx);
    }
  }
  return { messages, items };
}
