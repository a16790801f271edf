import { useEffect, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api';
import { Badge, Dialog, EmptyState, FieldError, ago, ListTable } from '../components/ui';
import { idFrom } from '../jobs/types';
import { useApiData } from '../use-api-data';

/** The status fields the server adds to destinations and exports (docs/data-export.md). */
interface DeliveryStatus {
  status: string;
  errors: Array<{ code: string; message: string }>;
  lastExportTime?: string;
  backlog: number;
  delivered: number;
  dropped: number;
}

interface Destination extends DeliveryStatus {
  id: string;
  displayName: string;
  type: string;
  url?: string;
}

interface Export extends DeliveryStatus {
  id: string;
  displayName: string;
  enabled: boolean;
  source: string;
  filter?: string;
  destinations: Array<{ id: string; transform?: string } & DeliveryStatus>;
}

const V = '?api-version=2022-10-31-preview';
const SOURCES = [
  'telemetry',
  'properties',
  'deviceConnectivity',
  'deviceLifecycle',
  'deviceTemplateLifecycle',
];
/** Status refreshes this often while the page is open (backlog and counters move). */
const REFRESH_MS = 3000;

function tone(status: string): 'ok' | 'warn' | 'bad' | 'muted' {
  return status === 'healthy' ? 'ok' : status === 'error' ? 'bad' : status === 'starting' ? 'warn' : 'muted';
}

function StatusCell({ s }: { s: DeliveryStatus }) {
  return (
    <>
      <td>
        <Badge tone={tone(s.status)}>{s.status}</Badge>
        {s.errors.map((e, i) => (
          <div key={i} className="muted" data-testid="export-error">
            {e.message}
          </div>
        ))}
      </td>
      <td data-testid="backlog">{s.backlog}</td>
      <td>{s.delivered}</td>
      <td>{s.dropped}</td>
      <td>{s.lastExportTime ? ago(s.lastExportTime) : '—'}</td>
    </>
  );
}

/**
 * Data export (issue 12 §1): destinations and exports with their live status (status, the last
 * failure in words, backlog, delivered, dropped), a dialog for each, and "Send a test message".
 */
export function DataExport() {
  const destinations = useApiData(
    () => api<{ value: Destination[] }>('GET', `/api/dataExport/destinations${V}`).then((r) => r.value),
    'export-destinations',
  );
  const exports = useApiData(
    () => api<{ value: Export[] }>('GET', `/api/dataExport/exports${V}`).then((r) => r.value),
    'exports',
  );
  const [dialog, setDialog] = useState<'destination' | 'export' | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const timer = setInterval(() => {
      void destinations.reload();
      void exports.reload();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [destinations.reload, exports.reload]);

  const test = async (id: string) => {
    setNote(null);
    setError(null);
    try {
      await api('POST', `/api/dataExport/destinations/${encodeURIComponent(id)}/test${V}`);
      setNote(`A test message was delivered to ${id}.`);
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <section>
      <div className="page-header">
        <h1>Data export</h1>
        <div className="row">
          <button type="button" onClick={() => setDialog('destination')}>
            New destination
          </button>
          <button type="button" className="primary" onClick={() => setDialog('export')}>
            New export
          </button>
        </div>
      </div>
      <FieldError error={destinations.error ?? exports.error ?? error} />
      {note && (
        <p className="muted" role="status">
          {note}
        </p>
      )}
      <h2>Exports</h2>
      <ListTable
        label="Exports"
        rows={exports.data}
        columns={[
          'Name',
          'Source',
          'Destinations',
          'Status',
          'Backlog',
          'Delivered',
          'Dropped',
          'Last export',
        ]}
        empty={
          <EmptyState title="No exports yet">
            <p>
              An export sends telemetry, property changes, connectivity or lifecycle events to your own
              systems, in IoT Central&apos;s message format, as they are stored, and catches up after an
              outage.
            </p>
          </EmptyState>
        }
      >
        {(e) => (
          <tr key={e.id} data-testid={`export-row-${e.id}`}>
            <td>
              {e.displayName}
              {!e.enabled && <span className="muted"> (disabled)</span>}
            </td>
            <td>{e.source}</td>
            <td>{e.destinations.map((d) => d.id).join(', ')}</td>
            <StatusCell s={e} />
          </tr>
        )}
      </ListTable>
      <h2>Destinations</h2>
      <ListTable
        label="Destinations"
        rows={destinations.data}
        columns={['Name', 'Type', 'Status', 'Backlog', 'Delivered', 'Dropped', 'Last export', '']}
        empty={
          <EmptyState title="No destinations yet">
            <p>
              A destination is where exports send: a webhook (HTTP POST), an MQTT broker or a RabbitMQ
              exchange.
            </p>
          </EmptyState>
        }
      >
        {(d) => (
          <tr key={d.id} data-testid={`destination-row-${d.id}`}>
            <td>
              {d.displayName}
              {d.url && <div className="muted">{d.url}</div>}
            </td>
            <td>{d.type}</td>
            <StatusCell s={d} />
            <td>
              <button type="button" onClick={() => void test(d.id)}>
                Send a test message
              </button>
            </td>
          </tr>
        )}
      </ListTable>
      {dialog === 'destination' && (
        <DestinationDialog
          onClose={() => setDialog(null)}
          onSaved={() => {
            setDialog(null);
            void destinations.reload();
          }}
        />
      )}
      {dialog === 'export' && (
        <ExportDialog
          destinations={destinations.data ?? []}
          onClose={() => setDialog(null)}
          onSaved={() => {
            setDialog(null);
            void exports.reload();
            void destinations.reload();
          }}
        />
      )}
    </section>
  );
}

function DestinationDialog({ onClose, onSaved }: { onClose: () => void; onSaved: () => void }) {
  const [name, setName] = useState('');
  const [url, setUrl] = useState('https://');
  const [auth, setAuth] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await api('PUT', `/api/dataExport/destinations/${idFrom(name || 'destination')}${V}`, {
        displayName: name.trim(),
        type: 'webhook@v1',
        url: url.trim(),
        ...(auth.trim() !== '' ? { authorization: { type: 'header', value: auth.trim() } } : {}),
      });
      onSaved();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <Dialog title="New webhook destination" onClose={onClose}>
      <form onSubmit={submit} aria-label="New destination">
        <label>
          Name
          <input name="displayName" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </label>
        <label>
          Callback URL
          <input name="url" value={url} onChange={(e) => setUrl(e.target.value)} />
        </label>
        <label>
          Authorization header (optional, kept secret)
          <input name="authorization" value={auth} onChange={(e) => setAuth(e.target.value)} />
        </label>
        <FieldError error={error} />
        <div className="row">
          <button type="submit" className="primary">
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

function ExportDialog({
  destinations,
  onClose,
  onSaved,
}: {
  destinations: Destination[];
  onClose: () => void;
  onSaved: () => void;
}) {
  const [name, setName] = useState('');
  const [source, setSource] = useState('telemetry');
  const [filter, setFilter] = useState('');
  const [destination, setDestination] = useState(destinations[0]?.id ?? '');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await api('PUT', `/api/dataExport/exports/${idFrom(name || 'export')}${V}`, {
        displayName: name.trim(),
        enabled: true,
        source,
        destinations: destination ? [{ id: destination }] : [],
        ...(filter.trim() !== '' ? { filter: filter.trim() } : {}),
      });
      onSaved();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <Dialog title="New export" onClose={onClose}>
      <form onSubmit={submit} aria-label="New export">
        <label>
          Name
          <input name="displayName" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </label>
        <label>
          Source
          <select name="source" value={source} onChange={(e) => setSource(e.target.value)}>
            {SOURCES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Destination
          <select name="destination" value={destination} onChange={(e) => setDestination(e.target.value)}>
            {destinations.map((d) => (
              <option key={d.id} value={d.id}>
                {d.displayName}
              </option>
            ))}
          </select>
        </label>
        <label>
          Filter (optional)
          <textarea
            name="filter"
            rows={2}
            value={filter}
            placeholder="SELECT * FROM devices WHERE temperature > 30"
            onChange={(e) => setFilter(e.target.value)}
            spellCheck={false}
          />
        </label>
        <FieldError error={error} />
        <div className="row">
          <button type="submit" className="primary">
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
