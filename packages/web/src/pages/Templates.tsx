import { useState } from 'react';
import { api, messageOf } from '../api';
import { Link, navigate } from '../router';
import { Badge, EmptyState, FieldError, FileField, ListTable } from '../components/ui';
import { useApiData } from '../use-api-data';
import type { DeviceTemplate } from '../admin/types';

/** The `@id` a DTDL file is stored under: the wrapper's or the root interface's (the first of an array). */
function fileId(json: unknown): string | undefined {
  const root = Array.isArray(json) ? (json[0] as unknown) : json;
  if (typeof root !== 'object' || root === null) return undefined;
  const id = (root as Record<string, unknown>)['@id'];
  return typeof id === 'string' && id !== '' ? id : undefined;
}

export function templatePath(id: string): string {
  return `/templates/${encodeURIComponent(id)}`;
}

/**
 * Device templates: what devices of a model send, report and answer. Import a
 * DTDL v2 file (an interface, or IoT Central's exported template) to add one.
 */
export function Templates() {
  const { data, error, reload } = useApiData(
    () => api<{ value: DeviceTemplate[] }>('GET', '/api/deviceTemplates').then((r) => r.value),
    'templates',
  );
  const [importError, setImportError] = useState<string | null>(null);

  const importFile = async (text: string, name: string) => {
    setImportError(null);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      setImportError(`${name} is not JSON: ${(err as Error).message}`);
      return;
    }
    const id = fileId(json);
    if (id === undefined) {
      setImportError(`${name} has no "@id": a DTDL v2 interface starts with "@id": "dtmi:…;1".`);
      return;
    }
    try {
      const stored = await api<DeviceTemplate>('PUT', `/api/deviceTemplates/${encodeURIComponent(id)}`, json);
      await reload();
      navigate(templatePath(stored['@id']));
    } catch (err) {
      setImportError(messageOf(err));
    }
  };

  return (
    <section>
      <h1>Device templates</h1>
      <section className="card" aria-label="Import a template">
        <h2>Import a template</h2>
        <p className="muted">
          A DTDL v2 interface (<code>"@type": "Interface"</code>) or a device template exported from IoT
          Central. Devices that announce its model ID get it automatically.
        </p>
        <FileField
          label="Import a DTDL file (.json)"
          name="dtdl"
          accept=".json,application/json"
          onText={(text, name) => void importFile(text, name)}
        />
        <FieldError error={importError} />
      </section>
      <FieldError error={error} />
      <ListTable
        label="Device templates"
        rows={data}
        columns={['Name', 'Model ID', 'Devices', 'Capabilities']}
        empty={
          <EmptyState title="No device templates">
            Import a DTDL v2 file above, e.g. the Thermostat model of the IoT Plug and Play samples.
          </EmptyState>
        }
      >
        {(t) => (
          <tr key={t['@id']}>
            <td>
              <Link to={templatePath(t['@id'])}>{t.displayName}</Link>{' '}
              {t.builtIn && <Badge tone="muted">Built-in</Badge>}
            </td>
            <td>
              <code>{t.capabilityModel['@id'] ?? t['@id']}</code>
            </td>
            <td data-testid={`devices-${t['@id']}`}>{t.devices}</td>
            <td className="muted">
              {t.summary.telemetry.length} telemetry, {t.summary.properties.length} properties,{' '}
              {t.summary.commands.length} commands
            </td>
          </tr>
        )}
      </ListTable>
    </section>
  );
}
