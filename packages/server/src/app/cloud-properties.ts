/**
 * Values of cloud properties: properties a device template declares with IoT Central's `Cloud`
 * co-type (CENTRAL_API.md §6), which the application keeps and never sends to the device. The
 * templates already parse them (dtdl-summary.ts `cloud: true`); their values had no store, so
 * they get a portable table of their own (device, component, name → JSON value).
 */
import type { Kysely } from 'kysely';

import type { Database } from '../store/schema.js';

export class CloudPropertyStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Sets (or, with `null`, removes) one value. */
  async set(deviceId: string, component: string | undefined, name: string, value: unknown): Promise<void> {
    const key = { device_id: deviceId, component: component ?? '', name };
    if (value === null) {
      await this.db
        .deleteFrom('cloud_properties')
        .where('device_id', '=', key.device_id)
        .where('component', '=', key.component)
        .where('name', '=', name)
        .execute();
      return;
    }
    const row = { value: JSON.stringify(value), updated_at: this.now().toISOString() };
    await this.db
      .insertInto('cloud_properties')
      .values({ ...key, ...row })
      .onConflict((oc) => oc.columns(['device_id', 'component', 'name']).doUpdateSet(row))
      .execute();
  }

  /** A device's cloud properties: root ones by name, a component's under `{ "<component>": { … } }`. */
  async get(deviceId: string): Promise<Record<string, unknown>> {
    const rows = await this.db
      .selectFrom('cloud_properties')
      .selectAll()
      .where('device_id', '=', deviceId)
      .execute();
    const out: Record<string, unknown> = {};
    for (const r of rows) {
      const value = JSON.parse(r.value) as unknown;
      if (r.component === '') out[r.name] = value;
      else ((out[r.component] ??= {}) as Record<string, unknown>)[r.name] = value;
    }
    return out;
  }

  async deleteDevice(deviceId: string): Promise<void> {
    await this.db.deleteFrom('cloud_properties').where('device_id', '=', deviceId).execute();
  }
}
