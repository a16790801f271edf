import type { MethodHandler } from '@gatehouse/device';

/** What a simulated device does: its telemetry, its reported properties and its commands. */
export interface DeviceBehaviour {
  /** IoT Plug and Play model ID announced when connecting, if any. */
  modelId?: string;
  /** The next telemetry message. */
  telemetry(): Record<string, unknown>;
  /** Reported properties sent after connecting (and, for the thermostat, when they change). */
  reported(): Record<string, unknown>;
  /** The reported properties that changed since the last telemetry, or undefined. */
  changedReported(): Record<string, unknown> | undefined;
  /** Direct-method handlers by name. */
  methods: Record<string, MethodHandler>;
}

export const TEMPLATES = ['environmental-sensor', 'thermostat'] as const;
export type TemplateName = (typeof TEMPLATES)[number];

/** A bounded random walk: each step moves at most `step`, never leaving [min, max]. */
function walker(min: number, max: number, step: number, random: () => number): () => number {
  let value = min + (max - min) * random();
  return () => {
    value = Math.min(max, Math.max(min, value + (random() * 2 - 1) * step));
    return Math.round(value * 100) / 100;
  };
}

/** The IoT Central environmental sensor sample: temp (°F) and humid (%), LED commands. */
function environmentalSensor(random: () => number): DeviceBehaviour {
  const temp = walker(60, 90, 1, random);
  const humid = walker(30, 70, 1.5, random);
  return {
    telemetry: () => ({ temp: temp(), humid: humid() }),
    reported: () => ({ state: 'true' }),
    changedReported: () => undefined,
    methods: {
      blink: (payload) => {
        const seconds = typeof payload === 'number' ? payload : Number(payload ?? 0) || 0;
        return { status: 200, payload: { status: `Blinking LED every ${seconds} seconds` } };
      },
      turnon: () => ({ status: 200, payload: { status: 'LED on' } }),
      turnoff: () => ({ status: 200, payload: { status: 'LED off' } }),
      rundiagnostics: () => ({ status: 202, payload: { status: 'Running diagnostics' } }),
    },
  };
}

/** The IoT Plug and Play thermostat sample: temperature (°C), maxTempSinceLastReboot, getMaxMinReport. */
function thermostat(random: () => number): DeviceBehaviour {
  const temperature = walker(15, 30, 0.5, random);
  const startTime = new Date().toISOString();
  let max = -Infinity;
  let min = Infinity;
  let sum = 0;
  let count = 0;
  let reportedMax: number | undefined;
  return {
    modelId: 'dtmi:com:example:Thermostat;1',
    telemetry: () => {
      const t = temperature();
      max = Math.max(max, t);
      min = Math.min(min, t);
      sum += t;
      count++;
      return { temperature: t };
    },
    reported: () => {
      reportedMax = count > 0 ? max : temperature();
      return { maxTempSinceLastReboot: reportedMax };
    },
    changedReported: () => {
      if (count === 0 || max === reportedMax) return undefined;
      reportedMax = max;
      return { maxTempSinceLastReboot: max };
    },
    methods: {
      getMaxMinReport: () => ({
        status: 200,
        payload: {
          maxTemp: count > 0 ? max : 0,
          minTemp: count > 0 ? min : 0,
          avgTemp: count > 0 ? Math.round((sum / count) * 100) / 100 : 0,
          startTime,
          endTime: new Date().toISOString(),
        },
      }),
    },
  };
}

/** A fresh behaviour (own state) for one device of `template`. */
export function createBehaviour(template: TemplateName, random: () => number = Math.random): DeviceBehaviour {
  return template === 'thermostat' ? thermostat(random) : environmentalSensor(random);
}

/** The reported patch that acknowledges a desired patch (IoT Plug and Play writable property convention). */
export function acknowledgeDesired(
  patch: Record<string, unknown>,
  version: number | undefined,
): Record<string, unknown> {
  const ack: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(patch)) {
    if (name.startsWith('$')) continue;
    ack[name] = { value, ac: 200, ad: 'completed', av: version };
  }
  return ack;
}
