/** Response schemas of the dashboard operations (app/dashboards.ts `Dashboard`, app/dashboard-tiles.ts `Tile`). */
import { arr, int, obj, page, str, strEnum } from './common.js';

const TILE_CONFIGURATION = obj(
  {},
  {
    devices: arr(str),
    template: str,
    telemetry: arr(str),
    kpi: strEnum('devicesConnected', 'messagesPerMinute', 'devicesTotal', 'telemetry'),
    window: strEnum('PT5M', 'PT30M', 'PT1H', 'PT24H', 'PT12H', 'P7D', 'P30D'),
    aggregation: strEnum('avg', 'min', 'max', 'sum', 'count', 'first', 'last'),
  },
);

const TILE = obj({
  id: str,
  title: str,
  type: strEnum('lineChart', 'kpi', 'lastKnownValue'),
  x: int,
  y: int,
  width: int,
  height: int,
  configuration: TILE_CONFIGURATION,
});

export const DASHBOARD = obj({ id: str, displayName: str, etag: str, tiles: arr(TILE) });

export const DASHBOARD_PAGE = page(DASHBOARD);
