import { useCallback, useState } from 'react';
import { api, messageOf } from '../api';
import { Badge, FieldError, Tabs, ago } from '../components/ui';
import { CommandsTab } from '../devices/CommandsTab';
import { ConnectDialog } from '../devices/ConnectDialog';
import { useApiData } from '../use-api-data';
import { OverviewTab } from '../devices/OverviewTab';
import { PropertiesTab } from '../devices/PropertiesTab';
import { RawDataTab } from '../devices/RawDataTab';
import { RefusalsTab } from '../devices/RefusalsTab';
import { devicePath, deviceStatus, templatePath, type Device, type DeviceTemplate } from '../devices/types';
import { useDeviceTelemetry } from '../devices/use-device-telemetry';
import { useLiveEvents, type LiveEvent } from '../live';
import { Link } from '../router';

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'properties', label: 'Properties' },
  { id: 'commands', label: 'Commands' },
  { id: 'raw', label: 'Raw data' },
  { id: 'refusals', label: 'Refusals' },
] as const;
type TabId = (typeof TABS)[number]['id'];

function initialTab(): TabId {
  const tab = new URLSearchParams(location.search).get('tab');
  return TABS.some((t) => t.id === tab) ? (tab as TabId) : 'overview';
}

/**
 * A device: its status and template, the Connect dialog, and the views a template gives it
 * (Overview charts, Properties, Commands, Raw data) plus the refused provisioning attempts.
 * One event stream for the device feeds every view.
 */
export function DevicePage({ id }: { id: string }) {
  const device = useApiData(() => api<Device>('GET', devicePath(id)), `device:${id}`);
  const templateId = device.data?.template;
  const template = useApiData<DeviceTemplate | null>(
    () =>
      templateId === undefined ? Promise.resolve(null) : api<DeviceTemplate>('GET', templatePath(templateId)),
    `template:${templateId ?? ''}`,
  );
  const telemetry = useDeviceTelemetry(id);
  const [tab, setTab] = useState<TabId>(initialTab);
  const [connecting, setConnecting] = useState(false);
  const [propertiesTick, setPropertiesTick] = useState(0);
  const [commandsTick, setCommandsTick] = useState(0);

  const { update, reload } = device;
  const { add } = telemetry;
  const onEvent = useCallback(
    (e: LiveEvent) => {
      if (e.deviceId !== id) return;
      switch (e.type) {
        case 'telemetry':
          add({
            enqueuedTime: e.enqueuedTime,
            component: e.component,
            body: e.body,
            properties: e.properties,
          });
          update((d) => ({ ...d, status: { ...d.status, lastActivity: e.enqueuedTime } }));
          break;
        case 'connected':
        case 'disconnected':
          update((d) => ({
            ...d,
            status: { ...d.status, connected: e.type === 'connected', lastActivity: e.time },
          }));
          break;
        case 'reportedProperties':
        case 'desiredProperties':
          setPropertiesTick((t) => t + 1);
          break;
        case 'commandCompleted':
          setCommandsTick((t) => t + 1);
          break;
        case 'deviceChanged':
          void reload();
          break;
      }
    },
    [id, add, update, reload],
  );
  useLiveEvents(onEvent, id);

  const changeTab = (next: TabId) => {
    setTab(next);
    const url = new URL(location.href);
    url.searchParams.set('tab', next);
    history.replaceState(null, '', url.pathname + url.search);
  };

  if (device.error !== null && device.data === undefined) {
    return (
      <section>
        <h1>Device {id}</h1>
        <FieldError error={device.error} />
        <p>
          <Link to="/devices">Back to the devices</Link>
        </p>
      </section>
    );
  }
  const d = device.data;
  const status = d ? deviceStatus(d) : undefined;
  // Until the device is loaded its template is unknown (undefined), not "none" (null).
  const tpl = d === undefined ? undefined : template.data;

  return (
    <section>
      <p className="breadcrumb">
        <Link to="/devices">Devices</Link> /
      </p>
      <div className="page-header">
        <div>
          <h1>{d?.displayName || id}</h1>
          <div className="row device-facts">
            <code>{id}</code>
            {status && <Badge tone={status.tone}>{status.label}</Badge>}
            {d &&
              (d.status.connected ? (
                <Badge tone="ok">Connected</Badge>
              ) : (
                <Badge tone="muted">Disconnected</Badge>
              ))}
            {d && <span className="muted">last seen {ago(d.status.lastActivity)}</span>}
          </div>
        </div>
        <div className="row">
          {d && <TemplatePicker device={d} onChanged={() => void reload()} />}
          <button type="button" className="primary" onClick={() => setConnecting(true)}>
            Connect
          </button>
        </div>
      </div>
      <Tabs tabs={TABS} current={tab} onChange={changeTab} />
      <div role="tabpanel" aria-label={TABS.find((t) => t.id === tab)?.label}>
        {tab === 'overview' && (
          <OverviewTab
            deviceId={id}
            template={tpl}
            telemetry={telemetry}
            onConnect={() => setConnecting(true)}
          />
        )}
        {tab === 'properties' && <PropertiesTab deviceId={id} template={tpl} tick={propertiesTick} />}
        {tab === 'commands' && <CommandsTab deviceId={id} template={tpl} tick={commandsTick} />}
        {tab === 'raw' && <RawDataTab template={tpl} telemetry={telemetry} />}
        {tab === 'refusals' && <RefusalsTab deviceId={id} />}
      </div>
      {connecting && <ConnectDialog deviceId={id} onClose={() => setConnecting(false)} />}
    </section>
  );
}

/** The device's template: "Unassigned" or a template; changing it is a PATCH of `template`. */
function TemplatePicker({ device, onChanged }: { device: Device; onChanged: () => void }) {
  const templates = useApiData(
    () => api<{ value: DeviceTemplate[] }>('GET', '/api/deviceTemplates').then((r) => r.value),
    'templates',
  );
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="template-picker">
      <label className="inline">
        Template
        <select
          value={device.template ?? ''}
          onChange={async (e) => {
            setError(null);
            try {
              await api('PATCH', devicePath(device.id), {
                template: e.target.value === '' ? null : e.target.value,
              });
              onChanged();
            } catch (err) {
              setError(messageOf(err));
            }
          }}
        >
          <option value="">Unassigned</option>
          {(templates.data ?? []).map((t) => (
            <option key={t['@id']} value={t['@id']}>
              {t.displayName}
            </option>
          ))}
          {device.template !== undefined &&
            !(templates.data ?? []).some((t) => t['@id'] === device.template) && (
              <option value={device.template}>{device.template}</option>
            )}
        </select>
      </label>
      <FieldError error={error} />
    </div>
  );
}
