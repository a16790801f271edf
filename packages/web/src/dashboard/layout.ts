import type { Tile } from '../devices/types';

/**
 * Dashboard tiles on the server's 12-column grid (contract B). Tiles keep their order; "move"
 * swaps neighbours and "resize" changes the width, after which the tiles are flowed again
 * left to right, top to bottom, so they never overlap (the server refuses overlaps).
 */
export const GRID_COLUMNS = 12;

export const SIZES = {
  small: { kpi: 3, lastKnownValue: 3, lineChart: 6 },
  wide: { kpi: 6, lastKnownValue: 6, lineChart: 12 },
} as const;

export const HEIGHTS = { kpi: 2, lastKnownValue: 2, lineChart: 4 } as const;

/** The tiles in reading order (by row, then column). */
export function ordered(tiles: readonly Tile[]): Tile[] {
  return [...tiles].sort((a, b) => a.y - b.y || a.x - b.x);
}

/** Positions flowed from the order: each tile goes right of the previous, or starts a new row. */
export function flow(tiles: readonly Tile[]): Tile[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return tiles.map((t) => {
    const width = Math.min(Math.max(1, t.width), GRID_COLUMNS);
    if (x + width > GRID_COLUMNS) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const placed = { ...t, x, y, width };
    x += width;
    rowHeight = Math.max(rowHeight, t.height);
    return placed;
  });
}

/** Moves the tile at `index` by `by` places (−1 earlier, +1 later) and flows again. */
export function move(tiles: readonly Tile[], index: number, by: -1 | 1): Tile[] {
  const list = [...tiles];
  const to = index + by;
  if (to < 0 || to >= list.length) return flow(list);
  [list[index], list[to]] = [list[to]!, list[index]!];
  return flow(list);
}

export function resize(tiles: readonly Tile[], index: number, size: keyof typeof SIZES): Tile[] {
  return flow(tiles.map((t, i) => (i === index ? { ...t, width: SIZES[size][t.type] } : t)));
}

/** Which of the two sizes a tile has now (wider than small counts as wide). */
export function sizeOf(t: Tile): keyof typeof SIZES {
  return t.width > SIZES.small[t.type] ? 'wide' : 'small';
}

/** A tile ID the server accepts (letters, digits, - and _), unique among `tiles`. */
export function newTileId(tiles: readonly Tile[], base: string): string {
  const stem =
    base
      .replace(/[^a-zA-Z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48) || 'tile';
  let id = stem;
  for (let n = 2; tiles.some((t) => t.id === id); n++) id = `${stem}-${n}`;
  return id;
}

/** Milliseconds of a tile's time window (default 30 minutes). */
export function windowMs(w: Tile['configuration']['window']): number {
  const minutes = { PT5M: 5, PT30M: 30, PT1H: 60, PT12H: 720, PT24H: 1440, P7D: 10_080, P30D: 43_200 };
  return minutes[w ?? 'PT30M'] * 60_000;
}
