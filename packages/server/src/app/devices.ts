import type { Kysely, Selectable } from 'kysely';
import { provisioningError } from '../provisioning/errors.js';
import type { Database, DevicesTable } from '../store/schema.js';
import { checkId } from '../validation.js';

/** A device as the operator sees it (CENTRAL_API.md §3 `Device`). */
export interface Device {
  id: string;
  etag: string;
  displayName: string;
  template?: string;
  enabled: boolean;
  provisioned: boolean;
  simulated: boolean;
}

/**
 * The read side of the device list until the hub context owns devices: the
 * rows provisioning writes (individual enrollments, assignments), shaped for
 * `GET /api/devices[/{id}]`.
 */
export class DeviceQueryService {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<Device[]> {
    const rows = await this.db.selectFrom('devices').selectAll().orderBy('id').execute();
    return rows.map(toApi);
  }

  async get(id: string): Promise<Device> {
    checkId('deviceId', id);
    const row = await this.db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw provisioningError('ERR_DEVICE_NOT_FOUND', `Device '${id}' does not exist.`);
    return toApi(row);
  }
}

function toApi(row: Selectable<DevicesTable>): Device {
  return {
    id: row.id,
    etag: row.etag,
    displayName: row.display_name,
    ...(row.template !== null ? { template: row.template } : {}),
    enabled: row.enabled === 1,
    provisioned: row.provisioned === 1,
    simulated: row.simulated === 1,
  };
}
