import { desiredPatchTopic } from '@gatehouse/protocol';
import type { EventBus } from '../events/event-bus.js';
import { componentDesiredPatch, componentTwin } from './component-properties.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { DeviceRouter } from './device-router.js';
import type { DeviceRegistry } from './devices.js';
import { hubError } from './errors.js';
import type { TemplateLookup } from './hub-service.js';
import type { HubSession } from './hub-session.js';
import { desiredEcho, parsePropertyUpdate, propertiesView } from './properties.js';
import { checkPropertyValues } from './property-schema.js';
import { replacementPatch, type TwinDocument, type TwinService, type TwinState } from './twins.js';

export interface DesiredPropertiesOptions {
  devices: DeviceRegistry;
  twins: TwinService;
  registry: ConnectionRegistry<HubSession>;
  events: EventBus;
  templates: TemplateLookup | undefined;
  now: () => Date;
  /** Pushes to a device connected to another node (a cluster). */
  router?: DeviceRouter | undefined;
}

/**
 * Properties as the REST API reads and writes them (CENTRAL_API.md §1.2 Properties, §5.3), at
 * the root or in one component (the twin's `{ "<component>": { "__t": "c", … } }`): reads are
 * the reported values with `$metadata`; writes are checked against the device's template,
 * stored as desired patches and pushed to the device when it is connected.
 */
export class DesiredProperties {
  constructor(private readonly o: DesiredPropertiesOptions) {}

  /** `GET …/properties` or `GET …/components/{component}/properties`. */
  async get(deviceId: string, component?: string): Promise<Record<string, unknown>> {
    await this.o.devices.row(deviceId);
    const twin = await this.o.twins.read(deviceId);
    return propertiesView(component === undefined ? twin : componentTwin(twin, component));
  }

  /**
   * PUT (`replace`: desired values the body leaves out are removed) or PATCH (merge), at the
   * root or in `component`. Answers the 202 echo.
   */
  async set(
    deviceId: string,
    body: unknown,
    how: { component?: string; replace: boolean },
  ): Promise<Record<string, unknown>> {
    return (await this.write(deviceId, body, how)).echo;
  }

  /**
   * {@link set}, also answering the desired `$version` the patch made: what a device's
   * acknowledgement (`av`) must reach for the write to count as applied (jobs wait for it).
   */
  async write(
    deviceId: string,
    body: unknown,
    how: { component?: string; replace: boolean },
  ): Promise<{ echo: Record<string, unknown>; version: number }> {
    const { component, replace } = how;
    const row = await this.o.devices.row(deviceId);
    // A component's object is one level of the twin document, so its values get one less.
    const values = parsePropertyUpdate(body, { component: component !== undefined });
    await this.check(row.template, values, component);
    const version = await this.send(deviceId, (twin) =>
      component !== undefined
        ? componentDesiredPatch(twin, component, values, replace)
        : replace
          ? replacementPatch(twin, values)
          : values,
    );
    return { echo: desiredEcho(values), version };
  }

  /**
   * Stores a desired patch and pushes it to the device (QoS 0) if connected, with `$version`
   * in the body (§3.5). Sent even without the desired subscription in the current set: the
   * SDK does not re-subscribe it after a reconnect (§3.9) and ignores unknown topics. `patch`
   * may be a function of the current twin, computed under the twin's lock (a PUT's removals).
   */
  async send(deviceId: string, patch: TwinDocument | ((twin: TwinState) => TwinDocument)): Promise<number> {
    const { version, patch: applied } = await this.o.twins.patchDesired(deviceId, patch);
    const live = this.o.registry.get(deviceId);
    const body = JSON.stringify({ ...applied, $version: version });
    if (live) {
      live
        .publish(desiredPatchTopic(version), body, 0)
        .catch((err: unknown) => live.log.debug({ err }, 'desired patch not sent: connection closed'));
    } else void this.o.router?.notify(deviceId, 'desired', { version, body });
    this.o.events.emit({
      type: 'desiredProperties',
      deviceId,
      time: this.o.now().toISOString(),
      patch: applied,
      version,
    });
    return version;
  }

  /**
   * Values of the wrong type for the device's template are refused before anything is stored;
   * with `component`, against that component's properties, and a component the template does
   * not declare is refused (a typo would otherwise reach the device, or merge into a root
   * property of that name).
   */
  private async check(template: string | null, values: TwinDocument, component?: string): Promise<void> {
    if (template === null || !this.o.templates?.properties) return;
    const found = await this.o.templates.properties(template);
    if (!found) return;
    if (component === undefined) {
      checkPropertyValues(values, found.properties);
      return;
    }
    if (!found.components.includes(component)) {
      throw hubError(
        'ERR_COMPONENT_NOT_FOUND',
        `The device's template '${template}' has no component '${component}'${found.components.length > 0 ? `; its components are ${found.components.join(', ')}` : ''}.`,
      );
    }
    // The component's properties, read as root ones: their names are the body's names.
    const own = found.properties
      .filter((p) => p.component === component)
      .map(({ component: _component, ...p }) => p);
    checkPropertyValues(values, own);
  }
}
