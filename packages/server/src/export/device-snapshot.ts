/**
 * What an export needs to know of a device to filter, enrich and format its messages: the
 * system fields, the reported and cloud properties and the template's display name. Read from
 * the store and kept for a short while, so a burst of one device's telemetry costs one read.
 */
import type { Kysely } from 'kysely';

import { readAck } from '../hub/properties.js';
import { isPlainObject } from '../hub/message-body.js';
import type { Database } from '../store/schema.js';

export interface DeviceSnapshot {
  id: string;
  displayName: string;
  template: string | null;
  templateDisplayName: string | undefined;
  simulated: boolean;
  provisioned: boolean;
  enabled: boolean;
  reported: Record<string, unknown>;
  cloud: Record<string, unknown>;
}

/** A property of the device: reported (unwrapped from a writable-property ack), else cloud. */
export function deviceProperty(device: DeviceSnapshot, component: string | undefined, name: string): unknown {
  for (const doc of [device.reported, device.cloud]) {
    const holder = component === undefined ? doc : doc[component];
    if (!isPlainObject(holder) || !Object.hasOwn(holder, name)) continue;
    const value = holder[name];
    const ack = readAck(value);
    return ack ? ack.value : value;
  }
  return undefined;
}

export class DeviceSnapshots {
  private readonly cache = new Map<string, { at: number; device: DeviceSnapshot | undefined }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly ttlMs = 2000,
  ) {}

  /** Forget a device (its properties or fields changed). */
  invalidate(id: string): void {
    this.cache.delete(id);
  }

  async get(id: string): Promise<DeviceSnapshot | undefined> {
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.device;
    const device = await this.read(id);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { at: Date.now(), device });
    return device;
  }

  private async read(id: string): Promise<DeviceSnapshot | undefined> {
    const row = await this.db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const [twin, cloudRows, template] = await Promise.all([
      this.db.selectFrom('twins').select('reported').where('device_id', '=', id).executeTakeFirst(),
      this.db.selectFrom('cloud_properties').selectAll().where('device_id', '=', id).execute(),
      row.template
        ? this.db
            .selectFrom('device_templates')
            .select('display_name')
            .where('id', '=', row.template)
            .executeTakeFirst()
        : Promise.resolve(undefined),
    ]);
    const cloud: Record<string, unknown> = {};
    for (const r of cloudRows) {
      const value = JSON.parse(r.value) as unknown;
      if (r.component === '') cloud[r.name] = value;
      else ((cloud[r.component] ??= {}) as Record<string, unknown>)[r.name] = value;
    }
    return {
      id,
      displayName: row.display_name,
      template: row.template,
      templateDisplayName: template?.display_name,
      simulated: row.simulated === 1,
      provisioned: row.provisioned === 1,
      enabled: row.enabled === 1,
      reported: twin ? (JSON.parse(twin.reported) as Record<string, unknown>) : {},
      cloud,
    };
  }
}
