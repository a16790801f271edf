import { useState, type FormEvent } from 'react';
import { api, messageOf } from '../api';
import { Badge, Dialog, EmptyState, FieldError, ListTable } from '../components/ui';
import type { Device, DeviceTemplate } from '../devices/types';
import { groupPath, idFrom, type DeviceGroup } from '../jobs/types';
import { Link, navigate } from '../router';
import { useApiData } from '../use-api-data';

/**
 * Device groups (EXPORT_RULES.md §5.1): named device queries that jobs run over and the device
 * list can be scoped to. The list, a New dialog (the filter is IoT Central's query; the server
 * names the position of a bad token), and a page per group with the devices it selects now.
 */
export function DeviceGroups() {
  const groups = useApiData(
    () => api<{ value: DeviceGroup[] }>('GET', '/api/deviceGroups').then((r) => r.value),
    'deviceGroups',
  );
  const [creating, setCreating] = useState(false);
  return (
    <section>
      <div className="page-header">
        <h1>Device groups</h1>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          New device group
        </button>
      </div>
      <FieldError error={groups.error} />
      {groups.data === undefined && groups.error === null && <p className="muted">Loading…</p>}
      <ListTable
        label="Device groups"
        rows={groups.data}
        columns={['Name', 'Filter', 'Description']}
        empty={
          <EmptyState title="No device groups yet">
            <p>
              A device group is a query over your devices, such as all the devices of one template. Jobs set
              properties or run commands on the devices of a group; the device list can show one group.
            </p>
          </EmptyState>
        }
      >
        {(g) => (
          <tr key={g.id} data-testid={`group-row-${g.id}`}>
            <td>
              <Link to={`/device-groups/${encodeURIComponent(g.id)}`}>{g.displayName}</Link>
            </td>
            <td>
              <code>{g.filter}</code>
            </td>
            <td>{g.description ?? ''}</td>
          </tr>
        )}
      </ListTable>
      {creating && (
        <GroupDialog
          onClose={() => setCreating(false)}
          onSaved={(g) => {
            setCreating(false);
            navigate(`/device-groups/${encodeURIComponent(g.id)}`);
          }}
        />
      )}
    </section>
  );
}

/** Create (no `group`) or edit a device group. */
function GroupDialog({
  group,
  onClose,
  onSaved,
}: {
  group?: DeviceGroup;
  onClose: () => void;
  onSaved: (g: DeviceGroup) => void;
}) {
  const templates = useApiData(
    () => api<{ value: DeviceTemplate[] }>('GET', '/api/deviceTemplates').then((r) => r.value),
    'templates',
  );
  const [name, setName] = useState(group?.displayName ?? '');
  const [filter, setFilter] = useState(group?.filter ?? 'SELECT * FROM devices');
  const [description, setDescription] = useState(group?.description ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (name.trim() === '') {
      setError('A name is required.');
      return;
    }
    setBusy(true);
    try {
      const id = group?.id ?? idFrom(name);
      const saved = await api<DeviceGroup>('PUT', groupPath(id), {
        displayName: name.trim(),
        filter,
        ...(description.trim() !== '' ? { description: description.trim() } : {}),
      });
      onSaved(saved);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title={group ? `Edit ${group.displayName}` : 'New device group'} onClose={onClose}>
      <form onSubmit={submit} aria-label={group ? 'Edit device group' : 'New device group'}>
        <label>
          Name
          <input name="displayName" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </label>
        <label>
          Devices of the template
          <select
            aria-label="Devices of the template"
            value=""
            onChange={(e) => {
              if (e.target.value !== '')
                setFilter(`SELECT * FROM devices WHERE $template = "${e.target.value}"`);
            }}
          >
            <option value="">Choose to write the filter…</option>
            {(templates.data ?? []).map((t) => (
              <option key={t['@id']} value={t['@id']}>
                {t.displayName}
              </option>
            ))}
          </select>
        </label>
        <label>
          Filter
          <textarea
            name="filter"
            rows={3}
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            spellCheck={false}
          />
        </label>
        <p className="muted">
          Fields: <code>$id</code>, <code>$displayName</code>, <code>$template</code>, <code>$simulated</code>
          , <code>$provisioned</code>, <code>$enabled</code> and property names;{' '}
          <code>= != &lt; &gt; IN [..]</code>, <code>CONTAINS($displayName, &quot;lab&quot;)</code>,{' '}
          <code>AND</code>, <code>OR</code>, <code>NOT</code>.
        </p>
        <FieldError error={error} />
        <label>
          Description
          <input name="description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <div className="row">
          <button type="submit" className="primary" disabled={busy}>
            Save
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** One device group: its filter and the devices it selects now. */
export function DeviceGroupPage({ id }: { id: string }) {
  const group = useApiData(() => api<DeviceGroup>('GET', groupPath(id)), `group:${id}`);
  const devices = useApiData(
    () => api<{ value: Device[] }>('GET', `${groupPath(id)}/devices`).then((r) => r.value),
    `group-devices:${id}`,
  );
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const g = group.data;
  return (
    <section>
      <p>
        <Link to="/device-groups">← Device groups</Link>
      </p>
      <FieldError error={group.error ?? error} />
      {g && (
        <>
          <div className="page-header">
            <h1>{g.displayName}</h1>
            <div className="row">
              <button
                type="button"
                className="primary"
                onClick={() => navigate(`/jobs?group=${encodeURIComponent(g.id)}`)}
              >
                New job
              </button>
              <button type="button" onClick={() => setEditing(true)}>
                Edit
              </button>
              <button
                type="button"
                className="danger"
                onClick={async () => {
                  try {
                    await api('DELETE', groupPath(g.id));
                    navigate('/device-groups');
                  } catch (err) {
                    setError(messageOf(err));
                  }
                }}
              >
                Delete
              </button>
            </div>
          </div>
          <p>
            <code data-testid="group-filter">{g.filter}</code>
          </p>
          {g.description && <p>{g.description}</p>}
        </>
      )}
      <h2>Devices</h2>
      <FieldError error={devices.error} />
      <ListTable
        label="Group devices"
        rows={devices.data}
        columns={['Device name', 'Device ID', 'Connection']}
        empty={
          <EmptyState title="No device matches this group's filter now">
            The group is evaluated each time it is used: devices that match later join it.
          </EmptyState>
        }
      >
        {(d) => (
          <tr key={d.id} data-testid={`group-device-${d.id}`}>
            <td>
              <Link to={`/devices/${encodeURIComponent(d.id)}`}>{d.displayName || d.id}</Link>
            </td>
            <td>
              <code>{d.id}</code>
            </td>
            <td>
              {d.status.connected ? (
                <Badge tone="ok">Connected</Badge>
              ) : (
                <Badge tone="muted">Disconnected</Badge>
              )}
            </td>
          </tr>
        )}
      </ListTable>
      {editing && g && (
        <GroupDialog
          group={g}
          onClose={() => setEditing(false)}
          onSaved={() => {
            setEditing(false);
            void group.reload();
            void devices.reload();
          }}
        />
      )}
    </section>
  );
}
