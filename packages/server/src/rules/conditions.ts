/**
 * One condition against one value (EXPORT_RULES.md §4.1), and the tumbling-window aggregates.
 * A missing value, or a value of another type than the threshold, makes the condition false
 * (as a missing field makes an export filter's predicate false, §3).
 */
import type { Aggregation, Literal, Operator, ValueCondition } from './rule-shape.js';

export function compare(actual: unknown, op: Operator, threshold: unknown): boolean {
  if (actual === undefined || actual === null || threshold === undefined || threshold === null) return false;
  if (op === 'contains')
    return typeof actual === 'string' && typeof threshold === 'string' && actual.includes(threshold);
  if (op === '==') return sameValue(actual, threshold);
  if (op === '!=') return typeof actual === typeof threshold && !sameValue(actual, threshold);
  if (typeof actual !== typeof threshold || (typeof actual !== 'number' && typeof actual !== 'string'))
    return false;
  const a = actual as number | string;
  const t = threshold as number | string;
  switch (op) {
    case '>':
      return a > t;
    case '>=':
      return a >= t;
    case '<':
      return a < t;
    default:
      return a <= t;
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `name` or `component.name` split. */
export function capabilityParts(capability: string): { component?: string; name: string } {
  const dot = capability.indexOf('.');
  return dot < 0
    ? { name: capability }
    : { component: capability.slice(0, dot), name: capability.slice(dot + 1) };
}

/** A component's value in a twin-shaped object (`{comp: {name}}` or `{name}` at the root). */
export function readNested(
  values: Record<string, unknown>,
  component: string | undefined,
  name: string,
): unknown {
  const holder = component === undefined ? values : values[component];
  if (holder === null || typeof holder !== 'object' || Array.isArray(holder)) return undefined;
  const v = (holder as Record<string, unknown>)[name];
  // A writable property's acknowledgement compares as its value.
  if (v !== null && typeof v === 'object' && 'value' in v && 'ac' in v)
    return (v as { value: unknown }).value;
  return v;
}

/** The threshold of a condition for one device: its literal, or the device's cloud property. */
export function thresholdOf(c: ValueCondition, cloud: Record<string, unknown>): Literal | undefined {
  if (c.cloudProperty === undefined) return c.value;
  const { component, name } = capabilityParts(c.cloudProperty);
  const v = readNested(cloud, component, name);
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
}

/** The running aggregate of one condition in one window. */
export class Accumulator {
  count = 0;
  private sum = 0;
  private numeric = 0;
  private min = Infinity;
  private max = -Infinity;

  add(v: unknown): void {
    if (v === undefined || v === null) return;
    this.count++;
    if (typeof v === 'number' && Number.isFinite(v)) {
      this.numeric++;
      this.sum += v;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
    }
  }

  /** The aggregate, undefined when the window saw no value to aggregate. */
  value(kind: Aggregation): number | undefined {
    if (kind === 'count') return this.count;
    if (this.numeric === 0) return undefined;
    switch (kind) {
      case 'sum':
        return this.sum;
      case 'min':
        return this.min;
      case 'max':
        return this.max;
      default:
        return this.sum / this.numeric;
    }
  }
}
