import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { api, ApiError, messageOf } from '../api';
import { Dialog, EmptyState, FieldError } from '../components/ui';
import { HEIGHTS, SIZES, flow, move, newTileId, ordered, resize, sizeOf } from '../dashboard/layout';
import { KpiTile, LastValueTile, LineChartTile, LiveContext, type FieldLabels } from '../dashboard/tiles';
import { firstPagePath } from '../devices/use-device-list';
import { useApiData } from '../use-api-data';
import type {
  Dashboard as DashboardDoc,
  Device,
  DeviceTemplate,
  Kpi,
  Stats,
  Tile,
  TileType,
} from '../devices/types';
import { useLiveEvents, type LiveEvent } from '../live';
import type { DeviceGroup } from '../jobs/types';
import { Link } from '../router';

const DASHBOARD = '/api/dashboards/default';
/** Stats are asked again at most this often while events arrive, and at least this often without. */
const STATS_THROTTLE_MS = 1000;
const STATS_REFRESH_MS = 10_000;

const KPI_NAMES: Record<Kpi, string> = {
  devicesConnected: 'Devices connected',
  messagesPerMinute: 'Messages per minute',
  devicesTotal: 'Devices',
  telemetry: 'Telemetry value (over a time range)',
};
const TYPE_NAMES: Record<TileType, string> = {
  kpi: 'KPI',
  lineChart: 'Line chart',
  lastKnownValue: 'Last known value',
};

/**
 * The application's dashboard (`default`, contract B): KPI tiles from GET /api/stats, line
 * charts and last-known values across devices, all live from one event stream. Edit mode adds,
 * removes, moves and resizes tiles; Save writes the dashboard with its etag.
 */
export function Dashboard() {
  const doc = useApiData(() => api<DashboardDoc>('GET', DASHBOARD), 'dashboard');
  const templates = useApiData(
    () => api<{ value: DeviceTemplate[] }>('GET', '/api/deviceTemplates').then((r) => r.value),
    'templates',
  );
  const [stats, setStats] = useState<Stats | undefined>(undefined);
  const [statsError, setStatsError] = useState<string | null>(null);
  const [draft, setDraft] = useState<Tile[] | null>(null);
  const [adding, setAdding] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  // One stream for the page; tiles subscribe through LiveContext.
  const listeners = useRef(new Set<(e: LiveEvent) => void>());
  const subscribe = useCallback((l: (e: LiveEvent) => void) => {
    listeners.current.add(l);
    return () => {
      listeners.current.delete(l);
    };
  }, []);

  const statsTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const loadStats = useCallback(() => {
    api<Stats>('GET', '/api/stats')
      .then((s) => {
        setStats(s);
        setStatsError(null);
      })
      .catch((err: unknown) => setStatsError(messageOf(err)));
  }, []);
  const statsSoon = useCallback(() => {
    if (statsTimer.current !== undefined) return;
    statsTimer.current = setTimeout(() => {
      statsTimer.current = undefined;
      loadStats();
    }, STATS_THROTTLE_MS);
  }, [loadStats]);
  useEffect(() => {
    loadStats();
    const timer = setInterval(loadStats, STATS_REFRESH_MS);
    return () => {
      clearInterval(timer);
      clearTimeout(statsTimer.current);
    };
  }, [loadStats]);

  useLiveEvents((e) => {
    for (const l of listeners.current) l(e);
    if (
      e.type === 'telemetry' ||
      e.type === 'connected' ||
      e.type === 'disconnected' ||
      e.type === 'deviceChanged'
    ) {
      statsSoon();
    }
  });

  const labels: FieldLabels = useMemo(() => {
    const map = new Map<string, { displayName: string; unit?: string }>();
    for (const t of templates.data ?? []) {
      for (const f of t.summary.telemetry) {
        if (!map.has(f.name))
          map.set(f.name, { displayName: f.displayName, ...(f.unit ? { unit: f.unit } : {}) });
      }
    }
    return map;
  }, [templates.data]);

  const editing = draft !== null;
  const tiles = draft ?? ordered(doc.data?.tiles ?? []);
  // Scoped to a device group, the tiles show only the group's devices (display only: the saved
  // dashboard keeps its devices; the KPI tiles stay application-wide).
  const [scope, setScope] = useState('');
  const groups = useApiData(
    () => api<{ value: DeviceGroup[] }>('GET', '/api/deviceGroups').then((r) => r.value),
    'deviceGroups',
  );
  const members = useApiData(
    () =>
      scope === ''
        ? Promise.resolve(undefined)
        : api<{ value: Device[] }>('GET', `/api/deviceGroups/${encodeURIComponent(scope)}/devices`).then(
            (r) => new Set(r.value.map((d) => d.id)),
          ),
    `scope:${scope}`,
  );
  const shownTiles = useMemo(() => {
    const inGroup = members.data;
    if (draft !== null || inGroup === undefined) return tiles;
    return tiles.map((t) =>
      t.configuration.devices === undefined
        ? t
        : {
            ...t,
            configuration: {
              ...t.configuration,
              devices: t.configuration.devices.filter((id) => inGroup.has(id)),
            },
          },
    );
  }, [tiles, draft, members.data]);

  const save = async () => {
    if (!doc.data || draft === null) return;
    setSaving(true);
    setSaveError(null);
    try {
      const saved = await api<DashboardDoc>('PUT', DASHBOARD, {
        displayName: doc.data.displayName,
        tiles: flow(draft),
        etag: doc.data.etag,
      });
      doc.update(() => saved);
      setDraft(null);
    } catch (err) {
      setSaveError(
        err instanceof ApiError && err.status === 412
          ? `${messageOf(err)} Cancel to load the current dashboard, then make your change again.`
          : messageOf(err),
      );
    } finally {
      setSaving(false);
    }
  };

  return (
    <LiveContext.Provider value={subscribe}>
      <section>
        <div className="page-header">
          <h1>Dashboard</h1>
          <div className="row">
            {!editing && (groups.data ?? []).length > 0 && (
              <select aria-label="Device group" value={scope} onChange={(e) => setScope(e.target.value)}>
                <option value="">All devices</option>
                {(groups.data ?? []).map((g) => (
                  <option key={g.id} value={g.id}>
                    {g.displayName}
                  </option>
                ))}
              </select>
            )}
            {!editing && doc.data && (
              <button type="button" onClick={() => setDraft(ordered(doc.data!.tiles))}>
                Edit
              </button>
            )}
            {editing && (
              <>
                <button type="button" onClick={() => setAdding(true)}>
                  Add tile
                </button>
                <button type="button" className="primary" disabled={saving} onClick={() => void save()}>
                  Save
                </button>
                <button
                  type="button"
                  onClick={() => {
                    setDraft(null);
                    setSaveError(null);
                    void doc.reload();
                  }}
                >
                  Cancel
                </button>
              </>
            )}
          </div>
        </div>
        <FieldError error={doc.error} />
        <FieldError error={saveError} />
        {statsError !== null && <p className="muted small">Statistics unavailable: {statsError}</p>}
        {editing && (
          <p className="note" role="note">
            Editing: add tiles, move them with the arrows, make them small or wide, then <strong>Save</strong>{' '}
            (the dashboard is kept on the server for everyone in this application).
          </p>
        )}
        {doc.data && tiles.length === 0 && (
          <EmptyState title="This dashboard is empty">
            {editing ? (
              <>
                Select <strong>Add tile</strong>: a KPI, a line chart of a telemetry field across devices, or
                a device&apos;s last value.
              </>
            ) : (
              <>
                Select <strong>Edit</strong>, then <strong>Add tile</strong>: for example a line chart of{' '}
                <code>temp</code> for your <Link to="/devices">devices</Link>.
              </>
            )}
          </EmptyState>
        )}
        <div className="dashboard-grid">
          {shownTiles.map((tile, i) => (
            <article
              key={tile.id}
              className={`card tile tile-${tile.type}`}
              aria-label={tile.title}
              data-testid={`tile-${tile.id}`}
              style={{
                gridColumn: `${tile.x + 1} / span ${tile.width}`,
                gridRow: `${tile.y + 1} / span ${tile.height}`,
              }}
            >
              <header className="tile-head">
                <h2>{tile.title}</h2>
                {editing && (
                  <div className="tile-tools" role="group" aria-label={`Arrange ${tile.title}`}>
                    <button
                      type="button"
                      aria-label={`Move ${tile.title} earlier`}
                      disabled={i === 0}
                      onClick={() => setDraft(move(tiles, i, -1))}
                    >
                      ←
                    </button>
                    <button
                      type="button"
                      aria-label={`Move ${tile.title} later`}
                      disabled={i === tiles.length - 1}
                      onClick={() => setDraft(move(tiles, i, 1))}
                    >
                      →
                    </button>
                    <button
                      type="button"
                      aria-label={`Make ${tile.title} ${sizeOf(tile) === 'small' ? 'wide' : 'small'}`}
                      onClick={() => setDraft(resize(tiles, i, sizeOf(tile) === 'small' ? 'wide' : 'small'))}
                    >
                      {sizeOf(tile) === 'small' ? 'Wide' : 'Small'}
                    </button>
                    <button
                      type="button"
                      className="danger"
                      aria-label={`Remove ${tile.title}`}
                      onClick={() => setDraft(flow(tiles.filter((t) => t.id !== tile.id)))}
                    >
                      ×
                    </button>
                  </div>
                )}
              </header>
              {tile.type === 'kpi' && <KpiTile tile={tile} stats={stats} />}
              {tile.type === 'lineChart' && <LineChartTile tile={tile} labels={labels} />}
              {tile.type === 'lastKnownValue' && <LastValueTile tile={tile} labels={labels} />}
            </article>
          ))}
        </div>
        {adding && draft !== null && (
          <AddTile
            templates={templates.data ?? []}
            onClose={() => setAdding(false)}
            onAdd={(tile) => {
              setDraft(flow([...draft, { ...tile, id: newTileId(draft, tile.title) }]));
              setAdding(false);
            }}
          />
        )}
      </section>
    </LiveContext.Provider>
  );
}

function AddTile({
  templates,
  onClose,
  onAdd,
}: {
  templates: DeviceTemplate[];
  onClose: () => void;
  onAdd: (tile: Tile) => void;
}) {
  const [type, setType] = useState<TileType>('lineChart');
  const [title, setTitle] = useState('');
  const [kpi, setKpi] = useState<Kpi>('devicesConnected');
  const [picked, setPicked] = useState<string[]>([]);
  const [field, setField] = useState('');
  const [error, setError] = useState<string | null>(null);
  // The devices to pick from: the first page of a server-side search (a fleet may be 100,000),
  // with those already picked kept in view.
  const [find, setFind] = useState('');
  const [found, setFound] = useState('');
  useEffect(() => {
    const timer = setTimeout(() => setFound(find), 250);
    return () => clearTimeout(timer);
  }, [find]);
  const path = firstPagePath({ sort: { field: 'displayName', descending: false }, search: found, group: '' });
  const page = useApiData(() => api<{ value: Device[] }>('GET', path).then((r) => r.value), path);
  const [known, setKnown] = useState<Map<string, Device>>(new Map());
  useEffect(() => {
    if (page.data) setKnown((k) => new Map([...k, ...page.data!.map((d) => [d.id, d] as const)]));
  }, [page.data]);
  const devices = useMemo(
    () => [
      ...picked.flatMap((id) => known.get(id) ?? []),
      ...(page.data ?? []).filter((d) => !picked.includes(d.id)),
    ],
    [picked, known, page.data],
  );

  // The fields the picked devices' templates declare (all templates' when none is picked yet).
  const fields = useMemo(() => {
    const ids = new Set(devices.filter((d) => picked.includes(d.id)).map((d) => d.template));
    const chosen = templates.filter((t) => picked.length === 0 || ids.has(t['@id']));
    const out = new Map<string, string>();
    for (const t of chosen)
      for (const f of t.summary.telemetry) if (!f.component) out.set(f.name, f.displayName);
    return [...out];
  }, [devices, templates, picked]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (type === 'kpi' && kpi !== 'telemetry') {
      onAdd(tileOf(type, title.trim() || KPI_NAMES[kpi], { kpi }));
      return;
    }
    if (type === 'kpi' && picked.length !== 1) {
      setError('Pick one device: the figure is one device’s field over a time range.');
      return;
    }
    if (picked.length === 0) {
      setError('Pick at least one device.');
      return;
    }
    if (field.trim() === '') {
      setError('Pick the telemetry field to show.');
      return;
    }
    const label = fields.find(([name]) => name === field.trim())?.[1] ?? field.trim();
    onAdd(
      tileOf(type, title.trim() || `${label}${picked.length === 1 ? ` — ${picked[0]}` : ''}`, {
        devices: picked,
        telemetry: [field.trim()],
        ...(type === 'lineChart' ? { window: 'PT30M' as const } : {}),
        ...(type === 'kpi' ? { kpi, window: 'PT1H' as const, aggregation: 'avg' as const } : {}),
      }),
    );
  };

  return (
    <Dialog title="Add tile" onClose={onClose}>
      <form onSubmit={submit} aria-label="Add tile" noValidate>
        <label>
          Tile type
          <select value={type} onChange={(e) => setType(e.target.value as TileType)}>
            {(Object.keys(TYPE_NAMES) as TileType[]).map((t) => (
              <option key={t} value={t}>
                {TYPE_NAMES[t]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Title
          <input
            value={title}
            onChange={(e) => setTitle(e.target.value)}
            placeholder="(from what it shows)"
          />
        </label>
        {type === 'kpi' && (
          <label>
            Figure
            <select value={kpi} onChange={(e) => setKpi(e.target.value as Kpi)}>
              {(Object.keys(KPI_NAMES) as Kpi[]).map((k) => (
                <option key={k} value={k}>
                  {KPI_NAMES[k]}
                </option>
              ))}
            </select>
          </label>
        )}
        {(type !== 'kpi' || kpi === 'telemetry') && (
          <>
            <fieldset className="device-picks">
              <legend>Devices</legend>
              <input
                type="search"
                aria-label="Find devices"
                placeholder="Find by ID or name"
                value={find}
                onChange={(e) => setFind(e.target.value)}
              />
              {devices.length === 0 && page.data !== undefined && (
                <p className="muted">{found.trim() === '' ? 'No devices yet.' : 'No device matches.'}</p>
              )}
              {devices.map((d) => (
                <label key={d.id} className="inline">
                  <input
                    type="checkbox"
                    checked={picked.includes(d.id)}
                    onChange={(e) =>
                      setPicked((p) => (e.target.checked ? [...p, d.id] : p.filter((x) => x !== d.id)))
                    }
                  />
                  {d.displayName && d.displayName !== d.id ? `${d.displayName} (${d.id})` : d.id}
                </label>
              ))}
            </fieldset>
            <label>
              Telemetry field
              <input
                list="telemetry-fields"
                value={field}
                onChange={(e) => setField(e.target.value)}
                placeholder="e.g. temp"
              />
              <datalist id="telemetry-fields">
                {fields.map(([name, displayName]) => (
                  <option key={name} value={name}>
                    {displayName}
                  </option>
                ))}
              </datalist>
            </label>
          </>
        )}
        <FieldError error={error} />
        <div className="row">
          <button type="submit" className="primary">
            Add
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function tileOf(type: TileType, title: string, configuration: Tile['configuration']): Tile {
  return {
    id: 'new',
    title,
    type,
    x: 0,
    y: 0,
    width: SIZES.small[type],
    height: HEIGHTS[type],
    configuration,
  };
}
