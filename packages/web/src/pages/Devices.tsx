import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api';
import { Badge, Dialog, EmptyState, FieldError, ago } from '../components/ui';
import { useApiData } from '../use-api-data';
import { devicePath, deviceStatus, type Device, type DeviceTemplate } from '../devices/types';
import { useLiveEvents, type LiveEvent } from '../live';
import { useDeviceList, type Sort, type SortField } from '../devices/use-device-list';
import type { DeviceGroup } from '../jobs/types';
import { Link, navigate } from '../router';

/**
 * The device list (CENTRAL_API.md §3 status table): status, connection, last seen and template
 * per device, a search over ID and name, create / block / delete, kept live from the event
 * stream (connected, disconnected, deviceChanged, telemetry's last activity). The server pages,
 * sorts and searches (25 a page, column headers sort), so a fleet of 100,000
 * opens as fast as one of ten.
 */
export function Devices() {
  // The list can be scoped to a device group (the server evaluates its filter).
  const [group, setGroup] = useState('');
  const groups = useApiData(
    () => api<{ value: DeviceGroup[] }>('GET', '/api/deviceGroups').then((r) => r.value),
    'deviceGroups',
  );
  const [search, setSearch] = useState('');
  // The search goes to the server a moment after the typing stops.
  const [searched, setSearched] = useState('');
  useEffect(() => {
    const timer = setTimeout(() => setSearched(search), 250);
    return () => clearTimeout(timer);
  }, [search]);
  const [sort, setSort] = useState<Sort>({ field: 'displayName', descending: false });
  const devices = useDeviceList({ sort, search: searched, group });
  const templates = useApiData(
    () => api<{ value: DeviceTemplate[] }>('GET', '/api/deviceTemplates').then((r) => r.value),
    'templates',
  );
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Device | null>(null);
  const [rowError, setRowError] = useState<{ id: string; message: string } | null>(null);
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const { update: updatePage, reload } = devices;
  const data = devices.data?.value;
  const update = useCallback(
    (change: (list: Device[]) => Device[]) => updatePage((page) => ({ ...page, value: change(page.value) })),
    [updatePage],
  );
  const onEvent = useCallback(
    (e: LiveEvent) => {
      if (e.type === 'connected' || e.type === 'disconnected') {
        update((list) =>
          list.map((d) =>
            d.id === e.deviceId
              ? {
                  ...d,
                  status: {
                    ...d.status,
                    connected: e.type === 'connected',
                    lastActivity: e.time,
                    ...(e.type === 'connected' ? { lastConnected: e.time } : {}),
                  },
                }
              : d,
          ),
        );
      } else if (e.type === 'telemetry') {
        update((list) =>
          list.map((d) =>
            d.id === e.deviceId ? { ...d, status: { ...d.status, lastActivity: e.enqueuedTime } } : d,
          ),
        );
      } else if (e.type === 'deviceChanged') {
        // Several changes in a burst (a fleet provisioning) cost one reload.
        clearTimeout(reloadTimer.current);
        reloadTimer.current = setTimeout(() => void reload(), 200);
      }
    },
    [update, reload],
  );
  useLiveEvents(onEvent);

  const templateName = useMemo(() => {
    const names = new Map((templates.data ?? []).map((t) => [t['@id'], t.displayName]));
    return (id: string | undefined) => (id === undefined ? undefined : (names.get(id) ?? id));
  }, [templates.data]);

  // The page shown narrows at once as the search is typed; the server's answer follows.
  const shown = useMemo(() => {
    const q = search.trim().toLowerCase();
    const list = data ?? [];
    if (q === '') return list;
    return list.filter((d) => d.id.toLowerCase().includes(q) || d.displayName.toLowerCase().includes(q));
  }, [data, search]);
  const searching = searched.trim() !== '';

  const setEnabled = async (d: Device, enabled: boolean) => {
    setRowError(null);
    try {
      const updated = await api<Device>('PATCH', devicePath(d.id), { enabled });
      update((list) => list.map((x) => (x.id === d.id ? { ...x, ...updated, status: x.status } : x)));
    } catch (err) {
      setRowError({ id: d.id, message: messageOf(err) });
    }
  };

  return (
    <section>
      <div className="page-header">
        <h1>Devices</h1>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          New device
        </button>
      </div>
      <FieldError error={devices.error} />
      {(groups.data ?? []).length > 0 && (
        <label className="search-field">
          Device group
          <select aria-label="Device group" value={group} onChange={(e) => setGroup(e.target.value)}>
            <option value="">All devices</option>
            {(groups.data ?? []).map((g) => (
              <option key={g.id} value={g.id}>
                {g.displayName}
              </option>
            ))}
          </select>
        </label>
      )}
      {data !== undefined && data.length === 0 && group !== '' && !searching && (
        <EmptyState title="No device of this group">
          The group&apos;s filter selects no device now.{' '}
          <Link to={`/device-groups/${encodeURIComponent(group)}`}>Open the group</Link>.
        </EmptyState>
      )}
      {data !== undefined && (data.length > 0 || searching || search !== '') && (
        <label className="search-field">
          Search devices
          <input
            type="search"
            placeholder="Device ID or name"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </label>
      )}
      {data === undefined && devices.error === null && <p className="muted">Loading…</p>}
      {data !== undefined && data.length === 0 && group === '' && !searching && devices.page === 1 && (
        <EmptyState title="No devices yet">
          <p>
            Create one with <strong>New device</strong> and open its <strong>Connect</strong> dialog for the
            ID scope and keys, or let a simulated fleet provision itself:
          </p>
          <pre>
            npx gatehouse simulate --template environmental-sensor --devices 3 --interval 1s --group-key
            &lt;SAS-IoT-Devices primary key&gt;
          </pre>
          <p>
            (the group key is on <Link to="/connection">Device connection</Link>; use{' '}
            <code>--root &lt;name&gt;</code> with <code>--certs &lt;dir&gt;</code> for a verified X.509 group
            instead).
          </p>
        </EmptyState>
      )}
      {data !== undefined && data.length === 0 && searching && (
        <EmptyState title={`No device matches "${searched}"`}>
          Search looks at device IDs and names.
        </EmptyState>
      )}
      {shown.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Devices">
            <thead>
              <tr>
                <SortHeader label="Device name" field="displayName" sort={sort} onSort={setSort} />
                <SortHeader label="Device ID" field="id" sort={sort} onSort={setSort} />
                <SortHeader label="Status" field="provisioned" sort={sort} onSort={setSort} />
                <SortHeader label="Connection" field="connected" sort={sort} onSort={setSort} />
                <SortHeader label="Last seen" field="lastActivity" sort={sort} onSort={setSort} />
                <SortHeader label="Device template" field="template" sort={sort} onSort={setSort} />
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((d) => {
                const status = deviceStatus(d);
                const template = templateName(d.template);
                return (
                  <tr key={d.id} data-testid={`device-row-${d.id}`}>
                    <td>
                      <Link to={`/devices/${encodeURIComponent(d.id)}`}>{d.displayName || d.id}</Link>
                    </td>
                    <td>
                      <code>{d.id}</code>
                    </td>
                    <td>
                      <Badge tone={status.tone}>{status.label}</Badge>
                    </td>
                    <td>
                      {d.status.connected ? (
                        <Badge tone="ok">Connected</Badge>
                      ) : (
                        <Badge tone="muted">Disconnected</Badge>
                      )}
                    </td>
                    <td title={d.status.lastActivity ?? ''}>{ago(d.status.lastActivity)}</td>
                    <td>{template ?? <span className="muted">Unassigned</span>}</td>
                    <td className="actions">
                      <button
                        type="button"
                        aria-label={`${d.enabled ? 'Block' : 'Unblock'} ${d.id}`}
                        onClick={() => void setEnabled(d, !d.enabled)}
                      >
                        {d.enabled ? 'Block' : 'Unblock'}
                      </button>
                      <button
                        type="button"
                        className="danger"
                        aria-label={`Delete ${d.id}`}
                        onClick={() => setDeleting(d)}
                      >
                        Delete
                      </button>
                      {rowError?.id === d.id && <FieldError error={rowError.message} />}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {(devices.hasNext || devices.hasPrevious) && (
        <nav className="pager" aria-label="Pages">
          <button type="button" disabled={!devices.hasPrevious} onClick={devices.previous}>
            Previous
          </button>
          <span aria-live="polite">Page {devices.page}</span>
          <button type="button" disabled={!devices.hasNext} onClick={devices.next}>
            Next
          </button>
        </nav>
      )}
      {creating && (
        <CreateDevice
          templates={templates.data ?? []}
          onClose={() => setCreating(false)}
          onCreated={(d) => {
            setCreating(false);
            navigate(`/devices/${encodeURIComponent(d.id)}`);
          }}
        />
      )}
      {deleting !== null && (
        <DeleteDevice
          device={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={() => {
            const gone = deleting.id;
            update((list) => list.filter((x) => x.id !== gone));
            setDeleting(null);
          }}
        />
      )}
    </section>
  );
}

/** A column header that sorts the list: ascending first, again for descending. */
function SortHeader({
  label,
  field,
  sort,
  onSort,
}: {
  label: string;
  field: SortField;
  sort: Sort;
  onSort: (sort: Sort) => void;
}) {
  const active = sort.field === field;
  return (
    <th aria-sort={active ? (sort.descending ? 'descending' : 'ascending') : 'none'}>
      <button
        type="button"
        className="sort-header"
        onClick={() => onSort({ field, descending: active ? !sort.descending : false })}
      >
        {label}
        <span aria-hidden="true">{active ? (sort.descending ? ' ▼' : ' ▲') : ''}</span>
      </button>
    </th>
  );
}

function CreateDevice({
  templates,
  onClose,
  onCreated,
}: {
  templates: DeviceTemplate[];
  onClose: () => void;
  onCreated: (d: Device) => void;
}) {
  const [id, setId] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [template, setTemplate] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (id.trim() === '') {
      setError('A device ID is required: letters, digits and - . _ : (it becomes the DPS registration ID).');
      return;
    }
    setBusy(true);
    try {
      // PUT replaces: refuse to overwrite a device that already exists.
      const existing = await api<Device>('GET', devicePath(id.trim())).catch(() => undefined);
      if (existing) {
        setError(`Device '${id.trim()}' already exists: pick another ID, or open it from the list.`);
        return;
      }
      const created = await api<Device>('PUT', devicePath(id.trim()), {
        displayName: displayName.trim() === '' ? id.trim() : displayName.trim(),
        ...(template !== '' ? { template } : {}),
      });
      onCreated(created);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="New device" onClose={onClose}>
      <form onSubmit={submit} aria-label="New device">
        <label>
          Device ID
          <input
            name="deviceId"
            value={id}
            onChange={(e) => setId(e.target.value)}
            autoFocus
            autoComplete="off"
          />
        </label>
        <FieldError error={error} />
        <label>
          Device name
          <input name="displayName" value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
        </label>
        <label>
          Device template
          <select value={template} onChange={(e) => setTemplate(e.target.value)}>
            <option value="">Unassigned</option>
            {templates.map((t) => (
              <option key={t['@id']} value={t['@id']}>
                {t.displayName}
              </option>
            ))}
          </select>
        </label>
        <div className="row">
          <button type="submit" className="primary" disabled={busy}>
            Create
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteDevice({
  device,
  onClose,
  onDeleted,
}: {
  device: Device;
  onClose: () => void;
  onDeleted: () => void;
}) {
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog title={`Delete ${device.id}?`} onClose={onClose}>
      <p>
        This deletes the device with its twin, telemetry, command history and queued messages. It cannot be
        undone.
      </p>
      <FieldError error={error} />
      <div className="row">
        <button
          type="button"
          className="danger"
          onClick={async () => {
            try {
              await api('DELETE', devicePath(device.id));
              onDeleted();
            } catch (err) {
              setError(messageOf(err));
            }
          }}
        >
          Delete device
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
