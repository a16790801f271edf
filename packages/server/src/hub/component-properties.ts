import type { TwinDocument, TwinState } from './twins.js';

/**
 * Component properties (IoT Plug and Play conventions; CENTRAL_API.md §1.2 "the same shape is
 * repeated for components"): a component's properties live in the twin under the component's
 * name, in an object marked `"__t": "c"`, on both the desired and the reported side.
 */
export const COMPONENT_MARKER = '__t';

function isPlainObject(v: unknown): v is TwinDocument {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The properties inside a component object of the twin, without the marker; {} when absent. */
export function componentPart(value: unknown): TwinDocument {
  if (!isPlainObject(value)) return {};
  const { [COMPONENT_MARKER]: _marker, ...rest } = value;
  return rest;
}

/**
 * One component's view of the twin, shaped like a whole twin so the root's property view
 * (`propertiesView`) reads it unchanged. Update times are kept per top-level name, so each
 * property of the component carries the component's time.
 */
export function componentTwin(twin: TwinState, component: string): TwinState {
  const reported = Object.hasOwn(twin.reported, component) ? componentPart(twin.reported[component]) : {};
  const desired = Object.hasOwn(twin.desired, component) ? componentPart(twin.desired[component]) : {};
  const stamp = (names: string[], time: string | undefined): Record<string, string> =>
    time === undefined ? {} : Object.fromEntries(names.map((n) => [n, time]));
  return {
    desired,
    desiredVersion: twin.desiredVersion,
    desiredUpdated: stamp(Object.keys(desired), twin.desiredUpdated[component]),
    reported,
    reportedVersion: twin.reportedVersion,
    reportedUpdated: stamp(Object.keys(reported), twin.reportedUpdated[component]),
  };
}

/**
 * The desired patch that sets `values` in a component: PATCH merges them; PUT (`replace`)
 * also removes the component's desired values the body leaves out.
 */
export function componentDesiredPatch(
  twin: TwinState,
  component: string,
  values: TwinDocument,
  replace: boolean,
): TwinDocument {
  const removed: TwinDocument = {};
  if (replace) {
    const current = Object.hasOwn(twin.desired, component) ? componentPart(twin.desired[component]) : {};
    for (const name of Object.keys(current)) if (!Object.hasOwn(values, name)) removed[name] = null;
  }
  return { [component]: { ...removed, ...values, [COMPONENT_MARKER]: 'c' } };
}
