import { useState } from 'react';
import { api, messageOf } from '../api';
import { Link, navigate } from '../router';
import { Badge, Dialog, EmptyState, FieldError } from '../components/ui';
import { useApiData } from '../use-api-data';
import type { DeviceTemplate, SchemaInfo } from '../admin/types';

/** A schema as text: primitive names as they are, complex schemas by their kind. */
function schemaText(schema: unknown): string {
  if (typeof schema === 'string') return schema;
  if (typeof schema === 'object' && schema !== null) {
    const type = (schema as Record<string, unknown>)['@type'];
    if (typeof type === 'string') return type;
  }
  return JSON.stringify(schema);
}

function payload(p: SchemaInfo | undefined): string {
  return p === undefined ? '—' : `${p.displayName || p.name}: ${schemaText(p.schema)}`;
}

function name(n: { name: string; component?: string }): string {
  return n.component ? `${n.component}/${n.name}` : n.name;
}

/** One device template: its telemetry, properties and commands, as the UI renders devices of it. */
export function TemplatePage({ id }: { id: string }) {
  const path = `/api/deviceTemplates/${encodeURIComponent(id)}`;
  const { data: t, error } = useApiData(() => api<DeviceTemplate>('GET', path), path);
  const [confirm, setConfirm] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);

  const remove = async () => {
    setConfirm(false);
    setDeleteError(null);
    try {
      await api('DELETE', path);
      navigate('/templates');
    } catch (err) {
      setDeleteError(messageOf(err));
    }
  };

  return (
    <section>
      <p>
        <Link to="/templates">← Device templates</Link>
      </p>
      {t === undefined ? (
        <>
          <h1>Device template</h1>
          <FieldError error={error} />
        </>
      ) : (
        <>
          <div className="page-header">
            <h1>{t.displayName}</h1>
            <button type="button" className="danger" onClick={() => setConfirm(true)}>
              Delete template
            </button>
          </div>
          <FieldError error={deleteError} />
          <p className="row">
            {t.builtIn && <Badge tone="muted">Built-in</Badge>}
            <Badge tone="info">
              {t.devices} {t.devices === 1 ? 'device' : 'devices'}
            </Badge>
            <span className="muted">
              <code>{t['@id']}</code> model <code>{t.capabilityModel['@id'] ?? '—'}</code>
            </span>
          </p>
          {t.description !== undefined && <p>{t.description}</p>}

          <h2>Telemetry</h2>
          {t.summary.telemetry.length === 0 ? (
            <EmptyState title="No telemetry" />
          ) : (
            <div className="table-wrap">
              <table aria-label="Telemetry">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Display name</th>
                    <th>Schema</th>
                    <th>Unit</th>
                    <th>Semantic type</th>
                  </tr>
                </thead>
                <tbody>
                  {t.summary.telemetry.map((x) => (
                    <tr key={name(x)}>
                      <td>
                        <code>{name(x)}</code>
                      </td>
                      <td>{x.displayName}</td>
                      <td>{schemaText(x.schema)}</td>
                      <td>{x.unit ?? '—'}</td>
                      <td>{x.semanticType ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}

          <h2 className="top-gap">Properties</h2>
          {t.summary.properties.length === 0 ? (
            <EmptyState title="No properties" />
          ) : (
            <div className="table-wrap">
              <table aria-label="Properties">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Display name</th>
                    <th>Schema</th>
                    <th>Access</th>
                  </tr>
                </thead>
                <tbody>
                  {t.summary.properties.map((p) => (
                    <tr key={name(p)}>
                      <td>
                        <code>{name(p)}</code>
                      </td>
                      <td>{p.displayName}</td>
                      <td>
                        {schemaText(p.schema)}
                        {p.unit !== undefined && <span className="muted"> ({p.unit})</span>}
                      </td>
                      <td>
                        {p.writable ? (
                          <Badge tone="info">Writable</Badge>
                        ) : (
                          <Badge tone="muted">Read-only</Badge>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}

          <h2 className="top-gap">Commands</h2>
          {t.summary.commands.length === 0 ? (
            <EmptyState title="No commands" />
          ) : (
            <div className="table-wrap">
              <table aria-label="Commands">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Display name</th>
                    <th>Request</th>
                    <th>Response</th>
                  </tr>
                </thead>
                <tbody>
                  {t.summary.commands.map((c) => (
                    <tr key={name(c)}>
                      <td>
                        <code>{name(c)}</code>
                      </td>
                      <td>{c.displayName}</td>
                      <td>{payload(c.request)}</td>
                      <td>{payload(c.response)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}

          {confirm && (
            <Dialog title="Delete device template" onClose={() => setConfirm(false)}>
              <p>
                Delete <strong>{t.displayName}</strong>? A template that devices use cannot be deleted.
              </p>
              <div className="row">
                <button type="button" className="danger" onClick={() => void remove()}>
                  Delete
                </button>
                <button type="button" onClick={() => setConfirm(false)}>
                  Cancel
                </button>
              </div>
            </Dialog>
          )}
        </>
      )}
    </section>
  );
}
