/**
 * The device templates every Gatehouse starts with: the two sample devices of the IoT Central
 * tutorials (CENTRAL_API.md §5.1 Environmental Sensor, §5.2 Thermostat), so `gatehouse simulate`
 * and the tutorial devices are recognised without importing anything.
 */
import type { TemplateDocument } from './dtdl-template.js';
import { DTDL_CONTEXT, IOTC_CONTEXT } from './dtdl.js';

/** §5.1, as a DTDL v2 interface without components (the 2020 device sends root-level telemetry). */
export const ENVIRONMENTAL_SENSOR_TEMPLATE: TemplateDocument = {
  '@id': 'dtmi:gatehouse:EnvironmentalSensor;1',
  '@type': ['ModelDefinition', 'DeviceModel'],
  displayName: 'Environmental Sensor',
  description: 'The device of the 2020 IoT Central Node.js tutorial: temperature, humidity, an LED.',
  capabilityModel: {
    '@context': [IOTC_CONTEXT, DTDL_CONTEXT],
    '@id': 'dtmi:com:example:EnvironmentalSensor;1',
    '@type': 'Interface',
    displayName: { en: 'Environmental Sensor' },
    contents: [
      {
        '@type': 'Property',
        name: 'state',
        displayName: { en: 'Device State' },
        description: { en: 'The state of the device: online (true) or offline (false).' },
        schema: 'boolean',
      },
      {
        '@type': 'Property',
        name: 'name',
        displayName: { en: 'Customer Name' },
        description: { en: 'The name of the customer currently operating the device.' },
        schema: 'string',
        writable: true,
      },
      {
        '@type': 'Property',
        name: 'brightness',
        displayName: { en: 'Brightness Level' },
        description: { en: 'The brightness of the LED: 1 (high), 2 (medium), 3 (low).' },
        schema: 'long',
        writable: true,
      },
      {
        '@type': ['Telemetry', 'Temperature'],
        name: 'temp',
        displayName: { en: 'Temperature' },
        schema: 'double',
        unit: 'degreeFahrenheit',
      },
      {
        '@type': ['Telemetry', 'RelativeHumidity'],
        name: 'humid',
        displayName: { en: 'Humidity' },
        schema: 'double',
        unit: 'percent',
      },
      {
        '@type': 'Command',
        name: 'blink',
        displayName: { en: 'Blink' },
        description: { en: 'Blinks the LED for the given interval.' },
        request: { name: 'interval', displayName: { en: 'Interval' }, schema: 'long' },
        response: {
          name: 'blinkResponse',
          displayName: { en: 'Blink response' },
          schema: { '@type': 'Object', fields: [{ name: 'description', schema: 'string' }] },
        },
      },
      { '@type': 'Command', name: 'turnon', displayName: { en: 'Turn on' } },
      { '@type': 'Command', name: 'turnoff', displayName: { en: 'Turn off' } },
      {
        '@type': 'Command',
        name: 'rundiagnostics',
        displayName: { en: 'Run diagnostics' },
        description: { en: 'Long-running: the device answers 202, then reports the result as a property.' },
      },
    ],
  },
};

/** §5.2: `dtmi:com:example:Thermostat;1` as the IoT Plug and Play samples announce it. */
export const THERMOSTAT_MODEL = {
  '@context': DTDL_CONTEXT,
  '@id': 'dtmi:com:example:Thermostat;1',
  '@type': 'Interface',
  displayName: 'Thermostat',
  description: 'Reports current temperature and provides desired temperature control.',
  contents: [
    {
      '@type': ['Telemetry', 'Temperature'],
      name: 'temperature',
      displayName: 'Temperature',
      description: 'Temperature in degrees Celsius.',
      schema: 'double',
      unit: 'degreeCelsius',
    },
    {
      '@type': ['Property', 'Temperature'],
      name: 'targetTemperature',
      schema: 'double',
      displayName: 'Target Temperature',
      description: 'Allows to remotely specify the desired target temperature.',
      unit: 'degreeCelsius',
      writable: true,
    },
    {
      '@type': ['Property', 'Temperature'],
      name: 'maxTempSinceLastReboot',
      schema: 'double',
      unit: 'degreeCelsius',
      displayName: 'Max temperature since last reboot.',
      description: 'Returns the max temperature since last device reboot.',
    },
    {
      '@type': 'Command',
      name: 'getMaxMinReport',
      displayName: 'Get Max-Min report.',
      description:
        'This command returns the max, min and average temperature from the specified time to the current time.',
      request: {
        name: 'since',
        displayName: 'Since',
        description: 'Period to return the max-min report.',
        schema: 'dateTime',
      },
      response: {
        name: 'tempReport',
        displayName: 'Temperature Report',
        schema: {
          '@type': 'Object',
          fields: [
            { name: 'maxTemp', displayName: 'Max temperature', schema: 'double' },
            { name: 'minTemp', displayName: 'Min temperature', schema: 'double' },
            { name: 'avgTemp', displayName: 'Average Temperature', schema: 'double' },
            { name: 'startTime', displayName: 'Start Time', schema: 'dateTime' },
            { name: 'endTime', displayName: 'End Time', schema: 'dateTime' },
          ],
        },
      },
    },
  ],
};

export const THERMOSTAT_TEMPLATE: TemplateDocument = {
  '@id': 'dtmi:gatehouse:Thermostat;1',
  '@type': ['ModelDefinition', 'DeviceModel'],
  displayName: 'Thermostat',
  description: 'The IoT Plug and Play thermostat sample (pnp_simple_thermostat).',
  capabilityModel: THERMOSTAT_MODEL,
};

export const BUILT_IN_TEMPLATES: readonly TemplateDocument[] = [
  ENVIRONMENTAL_SENSOR_TEMPLATE,
  THERMOSTAT_TEMPLATE,
];
