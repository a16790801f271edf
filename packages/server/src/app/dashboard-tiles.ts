import { isObject } from '../validation.js';
import { appError } from './errors.js';

/**
 * Dashboard tiles: the IoT Central dashboard (2022-10-31-preview) shape,
 * simplified to the three tile types the web UI draws. Placed on a grid of
 * {@link GRID_COLUMNS} columns; tiles never overlap.
 */
export const TILE_TYPES = ['lineChart', 'kpi', 'lastKnownValue'] as const;
export type TileType = (typeof TILE_TYPES)[number];

/** Fleet figures, or `telemetry`: the aggregate of a device's field over the tile's window. */
export const KPIS = ['devicesConnected', 'messagesPerMinute', 'devicesTotal', 'telemetry'] as const;
export type Kpi = (typeof KPIS)[number];

/**
 * ISO 8601 durations of the time windows a chart can show: the first four since dashboards
 * began, then the longer ones the series API serves (a day stays PT24H).
 */
export const WINDOWS = ['PT5M', 'PT30M', 'PT1H', 'PT24H', 'PT12H', 'P7D', 'P30D'] as const;
export type TileWindow = (typeof WINDOWS)[number];

/** How a chart or KPI tile aggregates its window (the telemetry series API's aggregations). */
export const AGGREGATIONS = ['avg', 'min', 'max', 'sum', 'count', 'first', 'last'] as const;
export type TileAggregation = (typeof AGGREGATIONS)[number];

export interface TileConfiguration {
  devices?: string[];
  template?: string;
  telemetry?: string[];
  kpi?: Kpi;
  window?: TileWindow;
  aggregation?: TileAggregation;
}

export interface Tile {
  id: string;
  title: string;
  type: TileType;
  x: number;
  y: number;
  width: number;
  height: number;
  configuration: TileConfiguration;
}

export const GRID_COLUMNS = 12;
export const MAX_TILES = 100;
/** Rows a dashboard may reach; far more than a screen, few enough to stop nonsense. */
const MAX_ROWS = 1000;
const MAX_TILE_HEIGHT = 24;
const MAX_TITLE_LENGTH = 200;
const MAX_LIST = 50;
const MAX_NAME_LENGTH = 256;
const TILE_ID = /^[a-zA-Z0-9_-]{1,64}$/;
const TILE_FIELDS = ['id', 'title', 'type', 'x', 'y', 'width', 'height', 'configuration'];
const CONFIGURATION_FIELDS = ['devices', 'template', 'telemetry', 'kpi', 'window', 'aggregation'];

function invalid(message: string): never {
  throw appError('ERR_DASHBOARD_INVALID', message);
}

/** `tiles` of a dashboard body, checked; every refusal names the tile (`tiles[2] (id 'temp')`) and field. */
export function parseTiles(value: unknown): Tile[] {
  if (!Array.isArray(value)) invalid("'tiles' is required: an array of tiles (it may be empty).");
  if (value.length > MAX_TILES)
    invalid(`'tiles' has ${value.length} tiles: a dashboard holds at most ${MAX_TILES}.`);
  const tiles = value.map((item: unknown, i) => parseTile(item, `tiles[${i}]`));
  const seen = new Map<string, number>();
  tiles.forEach((tile, i) => {
    const first = seen.get(tile.id);
    if (first !== undefined) invalid(`tiles[${i}]: id '${tile.id}' is also the id of tiles[${first}].`);
    seen.set(tile.id, i);
  });
  for (let i = 0; i < tiles.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = tiles[i]!;
      const b = tiles[j]!;
      if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) {
        invalid(
          `tiles[${i}] (id '${a.id}') overlaps tiles[${j}] (id '${b.id}'): move or shrink one of them.`,
        );
      }
    }
  }
  return tiles;
}

function parseTile(value: unknown, at: string): Tile {
  if (!isObject(value)) invalid(`${at} must be an object.`);
  const id = value['id'];
  if (typeof id !== 'string' || !TILE_ID.test(id)) invalid(`${at}.id must be 1–64 letters, digits, - or _.`);
  const where = `${at} (id '${id}')`;
  const extra = Object.keys(value).find((k) => !TILE_FIELDS.includes(k));
  if (extra !== undefined)
    invalid(`${where}: '${extra.slice(0, 64)}' is not a tile field (${TILE_FIELDS.join(', ')}).`);
  const title = value['title'];
  if (typeof title !== 'string' || title.length > MAX_TITLE_LENGTH)
    invalid(`${where}: title must be a string of at most ${MAX_TITLE_LENGTH} characters.`);
  const type = value['type'];
  if (!TILE_TYPES.includes(type as TileType))
    invalid(`${where}: type '${String(type).slice(0, 64)}' is not one of ${TILE_TYPES.join(', ')}.`);
  const x = integer(value['x'], `${where}: x`, 0, GRID_COLUMNS - 1);
  const y = integer(value['y'], `${where}: y`, 0, MAX_ROWS - 1);
  const width = integer(value['width'], `${where}: width`, 1, GRID_COLUMNS);
  const height = integer(value['height'], `${where}: height`, 1, MAX_TILE_HEIGHT);
  if (x + width > GRID_COLUMNS)
    invalid(`${where}: x + width is ${x + width}, past the ${GRID_COLUMNS} columns of the grid.`);
  const configuration = parseConfiguration(value['configuration'], type as TileType, where);
  return { id, title, type: type as TileType, x, y, width, height, configuration };
}

function integer(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    invalid(`${what} must be an integer from ${min} to ${max}, not ${JSON.stringify(value) ?? 'nothing'}.`);
  return value;
}

function parseConfiguration(value: unknown, type: TileType, where: string): TileConfiguration {
  if (value === undefined) value = {};
  if (!isObject(value)) invalid(`${where}: configuration must be an object.`);
  const extra = Object.keys(value).find((k) => !CONFIGURATION_FIELDS.includes(k));
  if (extra !== undefined) {
    invalid(
      `${where}: configuration.${extra.slice(0, 64)} is not a configuration field (${CONFIGURATION_FIELDS.join(', ')}).`,
    );
  }
  const out: TileConfiguration = {};
  const devices = names(value['devices'], `${where}: configuration.devices`);
  if (devices) out.devices = devices;
  const template = value['template'];
  if (template !== undefined) {
    if (typeof template !== 'string' || template === '' || template.length > MAX_NAME_LENGTH)
      invalid(`${where}: configuration.template must be a device template ID.`);
    out.template = template;
  }
  const telemetry = names(value['telemetry'], `${where}: configuration.telemetry`);
  if (telemetry) out.telemetry = telemetry;
  const kpi = value['kpi'];
  if (kpi !== undefined) {
    if (!KPIS.includes(kpi as Kpi))
      invalid(`${where}: configuration.kpi '${String(kpi).slice(0, 64)}' is not one of ${KPIS.join(', ')}.`);
    out.kpi = kpi as Kpi;
  }
  const window = value['window'];
  if (window !== undefined) {
    if (!WINDOWS.includes(window as TileWindow))
      invalid(
        `${where}: configuration.window '${String(window).slice(0, 64)}' is not one of ${WINDOWS.join(', ')}.`,
      );
    out.window = window as TileWindow;
  }
  const aggregation = value['aggregation'];
  if (aggregation !== undefined) {
    if (!AGGREGATIONS.includes(aggregation as TileAggregation))
      invalid(
        `${where}: configuration.aggregation '${String(aggregation).slice(0, 64)}' is not one of ${AGGREGATIONS.join(', ')}.`,
      );
    out.aggregation = aggregation as TileAggregation;
  }
  // What each type needs to draw anything.
  if (out.kpi === 'telemetry' && (out.devices?.length !== 1 || out.telemetry?.length !== 1))
    invalid(
      `${where}: a telemetry kpi tile needs one device in configuration.devices and one name in configuration.telemetry.`,
    );
  if (type === 'kpi' && out.kpi === undefined)
    invalid(`${where}: a kpi tile needs configuration.kpi (${KPIS.join(', ')}).`);
  if (type !== 'kpi' && out.kpi !== undefined) invalid(`${where}: configuration.kpi is only for kpi tiles.`);
  if (type !== 'kpi' && (out.telemetry === undefined || out.telemetry.length === 0))
    invalid(`${where}: a ${type} tile needs configuration.telemetry, the telemetry names to show.`);
  return out;
}

function names(value: unknown, what: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > MAX_LIST)
    invalid(`${what} must be an array of at most ${MAX_LIST} names.`);
  return value.map((v: unknown, i) => {
    if (typeof v !== 'string' || v === '' || v.length > MAX_NAME_LENGTH)
      invalid(`${what}[${i}] must be a non-empty string of at most ${MAX_NAME_LENGTH} characters.`);
    return v;
  });
}
