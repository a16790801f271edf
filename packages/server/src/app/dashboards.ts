import type { Kysely, Selectable } from 'kysely';
import type { Database, DashboardsTable } from '../store/schema.js';
import { newEtag, nowIso } from '../util.js';
import { checkId, commonError, isObject } from '../validation.js';
import { parseTiles, type Tile } from './dashboard-tiles.js';
import { appError } from './errors.js';

/** `GET /api/dashboards/{id}` (the IoT Central preview dashboard, simplified). */
export interface Dashboard {
  id: string;
  displayName: string;
  etag: string;
  tiles: Tile[];
}

/** The dashboard the web UI opens on; it always exists. */
export const DEFAULT_DASHBOARD_ID = 'default';

/** What a fresh application shows: are devices connected, is data coming in. */
const DEFAULT_TILES: Tile[] = [
  {
    id: 'devices-connected',
    title: 'Devices connected',
    type: 'kpi',
    x: 0,
    y: 0,
    width: 3,
    height: 2,
    configuration: { kpi: 'devicesConnected' },
  },
  {
    id: 'messages-per-minute',
    title: 'Messages per minute',
    type: 'kpi',
    x: 3,
    y: 0,
    width: 3,
    height: 2,
    configuration: { kpi: 'messagesPerMinute' },
  },
];

const MAX_DISPLAY_NAME = 200;

type DashboardRow = Selectable<DashboardsTable>;

export class DashboardService {
  private readonly now: () => Date;

  constructor(
    private readonly db: Kysely<Database>,
    options: { now?: () => Date } = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Creates the `default` dashboard when it is missing (first start). */
  async ensureDefault(): Promise<void> {
    const now = nowIso(this.now());
    await this.db
      .insertInto('dashboards')
      .values({
        id: DEFAULT_DASHBOARD_ID,
        display_name: 'Dashboard',
        tiles: JSON.stringify(DEFAULT_TILES),
        etag: newEtag(),
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  async list(): Promise<Dashboard[]> {
    const rows = await this.db
      .selectFrom('dashboards')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toApi);
  }

  async get(id: string): Promise<Dashboard> {
    checkId('dashboardId', id);
    const row = await this.row(id);
    if (!row) throw appError('ERR_DASHBOARD_NOT_FOUND', `Dashboard '${id}' does not exist.`);
    return toApi(row);
  }

  /**
   * `PUT /api/dashboards/{id}` `{ displayName, tiles, etag? }`: create or replace.
   * An `etag` (body, or the If-Match header) that is not the current one is refused
   * with 412, so two people editing the same dashboard do not overwrite each other.
   */
  async put(id: string, body: unknown, ifMatch?: string): Promise<Dashboard> {
    checkId('dashboardId', id);
    if (!isObject(body))
      throw appError('ERR_DASHBOARD_INVALID', 'The body must be a JSON object { displayName, tiles }.');
    const displayName = body['displayName'];
    if (
      typeof displayName !== 'string' ||
      displayName.trim() === '' ||
      displayName.length > MAX_DISPLAY_NAME
    ) {
      throw appError('ERR_DASHBOARD_INVALID', `'displayName' is required: 1–${MAX_DISPLAY_NAME} characters.`);
    }
    const tiles = parseTiles(body['tiles']);
    const existing = await this.row(id);
    for (const etag of [body['etag'], ifMatch]) {
      if (typeof etag === 'string' && etag !== '' && etag !== '*' && etag !== existing?.etag) {
        throw commonError(
          'ERR_ETAG_MISMATCH',
          `Dashboard '${id}' changed since you read it (the etag does not match): read it again.`,
        );
      }
    }
    const now = nowIso(this.now());
    const fields = {
      display_name: displayName,
      tiles: JSON.stringify(tiles),
      etag: newEtag(),
      updated_at: now,
    };
    if (existing) {
      // Conditional on the etag read above: a concurrent PUT in between makes this one a 412.
      const r = await this.db
        .updateTable('dashboards')
        .set(fields)
        .where('id', '=', id)
        .where('etag', '=', existing.etag)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0)
        throw commonError('ERR_ETAG_MISMATCH', `Dashboard '${id}' changed while saving: read it again.`);
    } else {
      // Another PUT may have created it since the read above: that one wins, this one is told to
      // read it again, as with a concurrent update (not a UNIQUE violation answered as a 500).
      const r = await this.db
        .insertInto('dashboards')
        .values({ id, ...fields, created_at: now })
        .onConflict((oc) => oc.column('id').doNothing())
        .executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) {
        throw commonError(
          'ERR_ETAG_MISMATCH',
          `Dashboard '${id}' was created by another request while saving: read it again.`,
        );
      }
    }
    return this.get(id);
  }

  private row(id: string): Promise<DashboardRow | undefined> {
    return this.db.selectFrom('dashboards').selectAll().where('id', '=', id).executeTakeFirst();
  }
}

function toApi(row: DashboardRow): Dashboard {
  let tiles: Tile[] = [];
  try {
    const parsed: unknown = JSON.parse(row.tiles);
    if (Array.isArray(parsed)) tiles = parsed as Tile[];
  } catch {
    // A corrupt row shows an empty dashboard rather than failing the page.
  }
  return { id: row.id, displayName: row.display_name, etag: row.etag, tiles };
}
