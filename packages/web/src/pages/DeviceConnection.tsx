import { useState, type FormEvent } from 'react';
import { api, messageOf } from '../api';
import { Link, navigate } from '../router';
import { Badge, CopyValue, EmptyState, FieldError } from '../components/ui';
import { useApiData } from '../use-api-data';
import {
  ATTESTATIONS,
  GROUP_TYPES,
  idFromName,
  type Application,
  type EnrollmentGroup,
} from '../admin/types';

/**
 * Device connection (IoT Central's page of the same name): the ID scope devices
 * provision with, and the enrollment groups that admit them.
 */
export function DeviceConnection() {
  const app = useApiData(() => api<Application>('GET', '/api/application'), 'application');
  const groups = useApiData(
    () => api<{ value: EnrollmentGroup[] }>('GET', '/api/enrollmentGroups').then((r) => r.value),
    'groups',
  );
  const [creating, setCreating] = useState(false);

  return (
    <section>
      <div className="page-header">
        <h1>Device connection</h1>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          Create enrollment group
        </button>
      </div>

      <div className="card">
        <h2>ID scope</h2>
        <p className="muted">Devices send it to the provisioning service with their credentials.</p>
        {app.data !== undefined ? (
          <CopyValue value={app.data.idScope} testId="id-scope" />
        ) : (
          <FieldError error={app.error} />
        )}
        {app.data !== undefined && (
          <p className="muted small">
            Provisioning and hub host <code>{app.data.hostName}</code>, MQTT{' '}
            <code>{app.data.endpoints.mqtt}</code>
          </p>
        )}
      </div>

      {creating && <CreateGroupForm onCancel={() => setCreating(false)} />}

      <h2>Enrollment groups</h2>
      <FieldError error={groups.error} />
      {groups.data !== undefined && groups.data.length === 0 && (
        <EmptyState title="No enrollment groups yet">
          Create one, then make a root certificate for it with{' '}
          <code>npx gatehouse cert root mytestrootcert</code>.
        </EmptyState>
      )}
      {groups.data !== undefined && groups.data.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Enrollment groups">
            <thead>
              <tr>
                <th>Name</th>
                <th>Group type</th>
                <th>Attestation</th>
                <th>Enabled</th>
                <th>Certificates</th>
              </tr>
            </thead>
            <tbody>
              {groups.data.map((g) => (
                <tr key={g.id}>
                  <td>
                    <Link to={`/connection/groups/${encodeURIComponent(g.id)}`}>{g.displayName}</Link>
                    {g.displayName !== g.id && <div className="muted small">{g.id}</div>}
                  </td>
                  <td>{GROUP_TYPES[g.type]}</td>
                  <td>{ATTESTATIONS[g.attestation.type]}</td>
                  <td>
                    {g.enabled ? <Badge tone="ok">Enabled</Badge> : <Badge tone="muted">Disabled</Badge>}
                  </td>
                  <td>
                    <VerifiedState group={g} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** For X.509 groups: whether the primary/secondary CA certificates are there and verified. */
function VerifiedState({ group }: { group: EnrollmentGroup }) {
  if (group.attestation.type !== 'x509') return <span className="muted">Keys</span>;
  const certs = group.attestation.x509.signingCertificates;
  const entries = (['primary', 'secondary'] as const).filter((e) => certs[e] !== undefined);
  if (entries.length === 0) return <Badge tone="warn">No certificate</Badge>;
  return (
    <span className="row">
      {entries.map((e) =>
        certs[e]!.verified ? (
          <Badge key={e} tone="ok">
            {e}: Verified
          </Badge>
        ) : (
          <Badge key={e} tone="warn">
            {e}: Unverified
          </Badge>
        ),
      )}
    </span>
  );
}

function CreateGroupForm({ onCancel }: { onCancel: () => void }) {
  const [name, setName] = useState('');
  const [id, setId] = useState<string | null>(null);
  const [type, setType] = useState<EnrollmentGroup['type']>('iot');
  const [attestation, setAttestation] = useState<EnrollmentGroup['attestation']['type']>('x509');
  const [enabled, setEnabled] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const groupId = id ?? idFromName(name);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const existing = await api<EnrollmentGroup>(
        'GET',
        `/api/enrollmentGroups/${encodeURIComponent(groupId)}`,
      ).catch(() => undefined);
      if (existing !== undefined) {
        setError(`An enrollment group with the ID '${groupId}' already exists: choose another name.`);
        return;
      }
      await api('PUT', `/api/enrollmentGroups/${encodeURIComponent(groupId)}`, {
        displayName: name,
        type,
        attestation: { type: attestation },
        enabled,
      });
      navigate(`/connection/groups/${encodeURIComponent(groupId)}`);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" aria-label="Create enrollment group" onSubmit={submit}>
      <h2>Create enrollment group</h2>
      <div className="form-grid">
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required autoFocus />
        </label>
        <label>
          Group ID
          <input
            value={groupId}
            onChange={(e) => setId(e.target.value)}
            placeholder="made from the name"
            required
          />
        </label>
        <label>
          Group type
          <select value={type} onChange={(e) => setType(e.target.value as EnrollmentGroup['type'])}>
            {Object.entries(GROUP_TYPES).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Attestation type
          <select
            value={attestation}
            onChange={(e) => setAttestation(e.target.value as EnrollmentGroup['attestation']['type'])}
          >
            {Object.entries(ATTESTATIONS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <label className="inline">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        Enabled
      </label>
      <FieldError error={error} />
      <div className="row">
        <button type="submit" className="primary" disabled={busy || groupId === ''}>
          Create
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
