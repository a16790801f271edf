/**
 * DTDL v2 device templates (CENTRAL_API.md §6): table-driven refusals, each naming the offending
 * element by JSON path; the documents that must be accepted (the built-ins, the §5.2 Thermostat,
 * an IoT Central template with cloud properties, the §5.1 legacy capability model converted,
 * multi-interface files); the summary; the urn → DTMI mapping; the versioning rule.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  ENVIRONMENTAL_SENSOR_TEMPLATE,
  THERMOSTAT_MODEL,
  THERMOSTAT_TEMPLATE,
} from '../src/app/device-templates-builtin.js';
import { urnToDtmi } from '../src/app/dtdl-legacy.js';
import { compatibilityProblems, summarize } from '../src/app/dtdl-summary.js';
import { parseTemplateBody } from '../src/app/dtdl-template.js';
import type { Json } from '../src/app/dtdl-elements.js';
import {
  clone,
  expectDtdlRefusal,
  ID,
  modelWith,
  nest,
  property,
  telemetry,
  thermostatWith,
} from './helpers/dtdl-fixtures.js';

/** [what, body, the message must contain this] */
const REFUSALS: Array<[string, unknown, string]> = [
  [
    'a misspelt primitive schema',
    thermostatWith(telemetry('temp', 'doubel')),
    "capabilityModel.contents[4] (name 'temp').schema: schema 'doubel' is not a DTDL v2 schema",
  ],
  [
    'bytes (listed, not supported)',
    thermostatWith(telemetry('raw', 'bytes')),
    "(name 'raw').schema: schema 'bytes' is not supported",
  ],
  [
    'an interface @id without version',
    modelWith({ '@id': 'dtmi:com:example:Thermostat' }),
    'capabilityModel.@id: "dtmi:com:example:Thermostat" is not a DTMI',
  ],
  [
    'an interface @id with a system segment',
    modelWith({ '@id': 'dtmi:_system:T;1' }),
    'capabilityModel.@id: "dtmi:_system:T;1" is not a DTMI',
  ],
  [
    'an interface @id with a leading-zero version',
    modelWith({ '@id': 'dtmi:a:T;01' }),
    'capabilityModel.@id',
  ],
  [
    'an interface @id over 128 characters',
    modelWith({ '@id': `dtmi:a:${'b'.repeat(130)};1` }),
    'capabilityModel.@id: is longer than 128 characters',
  ],
  ['a missing interface @id', modelWith({ '@id': undefined }), 'capabilityModel.@id: is required'],
  ['no @context anywhere', modelWith({ '@context': undefined }), "capabilityModel: '@context' is required"],
  [
    'a DTDL v3 context',
    modelWith({ '@context': 'dtmi:dtdl:context;3' }),
    'capabilityModel.@context: context "dtmi:dtdl:context;3" is not supported',
  ],
  [
    'only the IoT Central context',
    modelWith({ '@context': ['dtmi:iotcentral:context;2'] }),
    'capabilityModel.@context: must include "dtmi:dtdl:context;2"',
  ],
  [
    'a wrong interface @type',
    { displayName: 'x', capabilityModel: modelWith({ '@type': 'Interfaces' }) },
    'capabilityModel: \'@type\' must be "Interface"',
  ],
  [
    'contents that is not an array',
    modelWith({ contents: 'temperature' }),
    'capabilityModel.contents: must be an array',
  ],
  [
    'a misspelt content @type',
    thermostatWith({ '@type': 'Telemtry', name: 'x', schema: 'double' }),
    "capabilityModel.contents[4] (name 'x'): '@type' must include exactly one of Telemetry, Property, Command, Component, Relationship",
  ],
  [
    'a content without @type',
    thermostatWith({ name: 'x', schema: 'double' }),
    "contents[4] (name 'x'): '@type' is required",
  ],
  [
    'a duplicate name',
    thermostatWith(telemetry('temperature', 'double')),
    "capabilityModel.contents[4] (name 'temperature'): name 'temperature' is already used by contents[0]",
  ],
  [
    'a name ending with _',
    thermostatWith(telemetry('temp_', 'double')),
    'contents[4] (name \'temp_\'): name "temp_" is invalid',
  ],
  ['a name starting with a digit', thermostatWith(telemetry('1temp', 'double')), 'name "1temp" is invalid'],
  ['a name starting with _', thermostatWith(telemetry('_temp', 'double')), 'name "_temp" is invalid'],
  ['a name over 64 characters', thermostatWith(telemetry(`t${'x'.repeat(64)}`, 'double')), 'is invalid'],
  [
    'a missing name',
    thermostatWith({ '@type': 'Telemetry', schema: 'double' }),
    "capabilityModel.contents[4]: 'name' is required",
  ],
  [
    'a telemetry name IoT Central reserves',
    thermostatWith(telemetry('EventEnqueuedUtcTime', 'double')),
    "(name 'EventEnqueuedUtcTime'): telemetry name 'EventEnqueuedUtcTime' is reserved",
  ],
  [
    'a semantic type on a string',
    thermostatWith(
      telemetry('t', 'string', { '@type': ['Telemetry', 'Temperature'], unit: 'degreeCelsius' }),
    ),
    "(name 't').schema: semantic type Temperature needs a numeric schema",
  ],
  [
    'a unit of another semantic type',
    thermostatWith(telemetry('t', 'double', { '@type': ['Telemetry', 'Temperature'], unit: 'percent' })),
    'contents[4] (name \'t\').unit: "percent" is not a unit of Temperature',
  ],
  [
    'Humidity (a density) in percent',
    thermostatWith(telemetry('h', 'double', { '@type': ['Telemetry', 'Humidity'], unit: 'percent' })),
    '"percent" is not a unit of Humidity: use one of gramPerCubicMetre, kilogramPerCubicMetre',
  ],
  [
    'a semantic type without unit',
    thermostatWith(telemetry('v', 'double', { '@type': ['Telemetry', 'Voltage'] })),
    "(name 'v'): semantic type Voltage needs a 'unit'",
  ],
  [
    'a unit without semantic type',
    thermostatWith(telemetry('t', 'double', { unit: 'degreeCelsius' })),
    "(name 't').unit: a unit needs a semantic type",
  ],
  [
    'two semantic types',
    thermostatWith(
      telemetry('t', 'double', { '@type': ['Telemetry', 'Temperature', 'Pressure'], unit: 'kelvin' }),
    ),
    'at most one semantic type',
  ],
  [
    'an unknown co-type',
    thermostatWith(telemetry('t', 'double', { '@type': ['Telemetry', 'Temprature'], unit: 'kelvin' })),
    "(name 't'): '@type' \"Temprature\" is not a DTDL v2 semantic type",
  ],
  [
    'Cloud on telemetry',
    thermostatWith(telemetry('c', 'string', { '@type': ['Telemetry', 'Cloud'] })),
    "'Cloud' applies to properties only",
  ],
  [
    'State without an Enum',
    thermostatWith(telemetry('s', 'integer', { '@type': ['Telemetry', 'State'] })),
    "(name 's').schema: a State must have an Enum schema",
  ],
  [
    'Event on a boolean',
    thermostatWith(telemetry('e', 'boolean', { '@type': ['Telemetry', 'Event'] })),
    'an Event must have a numeric or string schema',
  ],
  [
    'Location on a double',
    thermostatWith(telemetry('l', 'double', { '@type': ['Telemetry', 'Location'] })),
    'a Location must have a geopoint',
  ],
  [
    'a vector with a velocity unit on a double',
    thermostatWith(
      telemetry('v', 'double', { '@type': ['Telemetry', 'VelocityVector'], unit: 'metrePerSecond' }),
    ),
    "a vector must have the schema 'vector'",
  ],
  [
    'an Array property',
    thermostatWith(property('list', { '@type': 'Array', elementSchema: 'string' })),
    "(name 'list').schema: a property schema may not be or contain an Array",
  ],
  [
    'a property Object holding an Array',
    thermostatWith(
      property('o', {
        '@type': 'Object',
        fields: [{ name: 'a', schema: { '@type': 'Array', elementSchema: 'long' } }],
      }),
    ),
    "(name 'o').schema: a property schema may not be or contain an Array",
  ],
  [
    'a geospatial property',
    thermostatWith(property('where', 'point')),
    'may not be or contain an Array (or a geospatial schema)',
  ],
  [
    'writable not a boolean',
    thermostatWith(property('w', 'double', { writable: 'yes' })),
    "(name 'w').writable: must be true or false",
  ],
  [
    'a misspelt property key',
    thermostatWith(property('w', 'double', { writeable: true })),
    "(name 'w'): 'writeable' is not a property of a DTDL v2 Property",
  ],
  [
    'an Enum of doubles',
    thermostatWith(
      telemetry('e', { '@type': 'Enum', valueSchema: 'double', enumValues: [{ name: 'a', enumValue: 1 }] }),
    ),
    "(name 'e').schema.valueSchema: must be 'integer' or 'string'",
  ],
  [
    'an Enum value of the wrong type',
    thermostatWith(
      telemetry('e', {
        '@type': 'Enum',
        valueSchema: 'integer',
        enumValues: [{ name: 'a', enumValue: 'one' }],
      }),
    ),
    "(name 'e').schema.enumValues[0] (name 'a'): 'enumValue' must be an integer",
  ],
  [
    'an Enum value used twice',
    thermostatWith(
      telemetry('e', {
        '@type': 'Enum',
        valueSchema: 'string',
        enumValues: [
          { name: 'a', enumValue: 'x' },
          { name: 'b', enumValue: 'x' },
        ],
      }),
    ),
    'schema.enumValues[1] (name \'b\'): enumValue "x" is used twice',
  ],
  [
    'an Enum without values',
    thermostatWith(telemetry('e', { '@type': 'Enum', valueSchema: 'string', enumValues: [] })),
    'schema.enumValues: must list 1–100 values',
  ],
  [
    'a Map with integer keys',
    thermostatWith(
      telemetry('m', {
        '@type': 'Map',
        mapKey: { name: 'k', schema: 'integer' },
        mapValue: { name: 'v', schema: 'double' },
      }),
    ),
    "(name 'm').schema.mapKey.schema: must be 'string'",
  ],
  [
    'a Map without mapValue',
    thermostatWith(telemetry('m', { '@type': 'Map', mapKey: { name: 'k', schema: 'string' } })),
    'schema.mapValue: is required',
  ],
  [
    'an Object with a field name used twice',
    thermostatWith(
      telemetry('o', {
        '@type': 'Object',
        fields: [
          { name: 'x', schema: 'double' },
          { name: 'x', schema: 'long' },
        ],
      }),
    ),
    "(name 'o').schema.fields[1] (name 'x'): name 'x' is used twice in this Object",
  ],
  [
    'an Object without fields',
    thermostatWith(telemetry('o', { '@type': 'Object' })),
    "(name 'o').schema: 'fields' is required",
  ],
  [
    'an unknown complex @type',
    thermostatWith(telemetry('o', { '@type': 'Struct', fields: [] })),
    "'@type' must be Array, Enum, Map or Object",
  ],
  [
    'complex schemas 6 deep',
    thermostatWith(telemetry('deep', nest(6))),
    'complex schemas nest deeper than 5 levels',
  ],
  [
    'a schema DTMI not in schemas',
    thermostatWith(telemetry('r', 'dtmi:com:example:Missing;1')),
    "schema 'dtmi:com:example:Missing;1' is not defined in this interface's 'schemas'",
  ],
  [
    'a schemas entry without @id',
    modelWith({ schemas: [{ '@type': 'Object', fields: [{ name: 'a', schema: 'double' }] }] }),
    'capabilityModel.schemas[0].@id: is required',
  ],
  [
    'a component holding a component',
    thermostatWith({
      '@type': 'Component',
      name: 'outer',
      schema: {
        '@id': 'dtmi:test:Outer;1',
        '@type': 'Interface',
        contents: [
          {
            '@type': 'Component',
            name: 'inner',
            schema: { '@id': 'dtmi:test:Inner;1', '@type': 'Interface' },
          },
        ],
      },
    }),
    "capabilityModel.contents[4] (name 'outer').schema.contents[0] (name 'inner'): a component interface cannot contain components",
  ],
  [
    'a component naming an interface not in the file',
    thermostatWith({ '@type': 'Component', name: 'sub', schema: 'dtmi:com:example:Missing;1' }),
    "(name 'sub').schema: interface dtmi:com:example:Missing;1 is not defined in this file",
  ],
  [
    'more than two extends',
    modelWith({
      extends: [1, 2, 3].map((n) => ({ '@id': `dtmi:test:Base${n};1`, '@type': 'Interface' })),
    }),
    'capabilityModel.extends: at most 2 interfaces may be extended',
  ],
  [
    'an extended interface reusing a name',
    modelWith({
      extends: {
        '@id': 'dtmi:test:Base;1',
        '@type': 'Interface',
        contents: [telemetry('temperature', 'long')],
      },
    }),
    "capabilityModel.contents[0] (name 'temperature'): name 'temperature' is already used by an extended interface",
  ],
  [
    'a display name over 64 characters',
    modelWith({ displayName: 'x'.repeat(65) }),
    'capabilityModel.displayName: must be 1–64 characters',
  ],
  [
    'a language map with a bad key',
    modelWith({ displayName: { 'english!': 'Thermostat' } }),
    "capabilityModel.displayName: 'english!' is not a language code",
  ],
  [
    'a language map with a number',
    modelWith({ displayName: { en: 5 } }),
    'capabilityModel.displayName.en: must be a string',
  ],
  [
    'a command payload without name',
    thermostatWith({ '@type': 'Command', name: 'reboot', request: { schema: 'dateTime' } }),
    "(name 'reboot').request: 'name' is required",
  ],
  [
    'an unknown commandType',
    thermostatWith({ '@type': 'Command', name: 'go', commandType: 'later' }),
    "(name 'go').commandType: must be 'synchronous' or 'asynchronous'",
  ],
  [
    'a relationship with minMultiplicity 1',
    thermostatWith({ '@type': 'Relationship', name: 'room', minMultiplicity: 1 }),
    "(name 'room').minMultiplicity: must be 0",
  ],
  [
    'a wrapper @id other than the URL',
    { '@id': 'dtmi:other:T;1', capabilityModel: clone(THERMOSTAT_MODEL) },
    '@id: "dtmi:other:T;1" must equal the template ID in the URL',
  ],
  [
    'a wrapper @type that is not a device model',
    { '@type': 'Interface2', capabilityModel: clone(THERMOSTAT_MODEL) },
    '@type: must be ["ModelDefinition", "DeviceModel"]',
  ],
  [
    'a wrapper whose capabilityModel is a string',
    { displayName: 'x', capabilityModel: 'dtmi:a:b;1' },
    'capabilityModel: must be a DTDL v2 Interface',
  ],
  [
    'a body that is neither template nor interface',
    { displayName: 'x' },
    'the body must be a device template',
  ],
  ['a number', 42, 'the body must be a device template, a DTDL v2 Interface or an array'],
  ['an empty array', [], 'the array holds no interface'],
  ['an array with a non-object', [clone(THERMOSTAT_MODEL), 'x'], '[1]: must be a DTDL Interface'],
  [
    'interfaces that extend each other',
    [
      {
        '@context': 'dtmi:dtdl:context;2',
        '@id': 'dtmi:test:A;1',
        '@type': 'Interface',
        extends: 'dtmi:test:B;1',
      },
      {
        '@context': 'dtmi:dtdl:context;2',
        '@id': 'dtmi:test:B;1',
        '@type': 'Interface',
        extends: 'dtmi:test:A;1',
      },
    ],
    'interface dtmi:test:A;1 includes itself (dtmi:test:A;1 → dtmi:test:B;1 → dtmi:test:A;1)',
  ],
  [
    'a legacy model naming an interface it does not include',
    {
      '@id': 'urn:contoso:device:1',
      '@type': 'CapabilityModel',
      implements: [{ name: 'sensor', schema: 'urn:contoso:Sensor:1' }],
      '@context': 'http://azureiot.com/v1/contexts/IoTModel.json',
    },
    'capabilityModel.implements[0].schema: interface urn:contoso:Sensor:1 is not defined in this file',
  ],
];

describe('DTDL v2 validation: refusals name the element by JSON path', () => {
  for (const [what, body, expected] of REFUSALS) {
    it(`refuses ${what}`, () => expectDtdlRefusal(body, expected));
  }
});

/** The §5.1 model as the 2020 tutorial ships it (capability model with two inline interfaces). */
export const LEGACY_ENVIRONMENTAL_SENSOR = {
  '@id': 'urn:{YOUR_COMPANY_NAME_HERE}:sample_device:1',
  '@type': 'CapabilityModel',
  displayName: 'Environment Sensor Capability Model',
  implements: [
    {
      '@type': 'InterfaceInstance',
      name: 'deviceinfo',
      schema: {
        '@id': 'urn:azureiot:DeviceManagement:DeviceInformation:1',
        '@type': 'Interface',
        displayName: 'Device Information',
        '@context': 'http://azureiot.com/v1/contexts/IoTModel.json',
        contents: [
          ...[
            'manufacturer',
            'model',
            'swVersion',
            'osName',
            'processorArchitecture',
            'processorManufacturer',
          ].map((name) => ({ '@type': 'Property', name, schema: 'string' })),
          {
            '@type': 'Property',
            name: 'totalStorage',
            displayName: 'Total storage',
            schema: 'long',
            displayUnit: 'kilobytes',
          },
          {
            '@type': 'Property',
            name: 'totalMemory',
            displayName: 'Total memory',
            schema: 'long',
            displayUnit: 'kilobytes',
          },
        ],
      },
    },
    {
      '@type': 'InterfaceInstance',
      name: 'sensor',
      schema: {
        '@id': 'urn:{YOUR_COMPANY_NAME_HERE}:EnvironmentalSensor:1',
        '@type': 'Interface',
        displayName: 'Environmental Sensor',
        '@context': 'http://azureiot.com/v1/contexts/IoTModel.json',
        contents: [
          { '@type': 'Property', displayName: 'Device State', name: 'state', schema: 'boolean' },
          {
            '@type': 'Property',
            displayName: 'Customer Name',
            name: 'name',
            schema: 'string',
            writable: true,
          },
          {
            '@type': 'Property',
            displayName: 'Brightness Level',
            name: 'brightness',
            writable: true,
            schema: 'long',
          },
          {
            '@id': 'urn:{YOUR_COMPANY_NAME_HERE}:EnvironmentalSensor:temp:1',
            '@type': ['Telemetry', 'SemanticType/Temperature'],
            displayName: 'Temperature',
            name: 'temp',
            schema: 'double',
            unit: 'Units/Temperature/fahrenheit',
          },
          {
            '@type': ['Telemetry', 'SemanticType/Humidity'],
            displayName: 'Humidity',
            name: 'humid',
            schema: 'double',
            unit: 'Units/Humidity/percent',
          },
          {
            '@type': 'Command',
            name: 'blink',
            commandType: 'synchronous',
            request: { name: 'interval', schema: 'long' },
            response: {
              name: 'blinkResponse',
              schema: {
                '@type': 'Object',
                fields: [{ '@type': 'SchemaField', name: 'description', schema: 'string' }],
              },
            },
          },
          { '@type': 'Command', name: 'turnon', commandType: 'synchronous' },
          { '@type': 'Command', name: 'turnoff', commandType: 'synchronous' },
          { '@type': 'Command', name: 'rundiagnostics', commandType: 'asynchronous' },
        ],
      },
    },
  ],
  '@context': 'http://azureiot.com/v1/contexts/IoTModel.json',
};

/** How IoT Central stores a template: wrapper context, language maps, cloud properties, overrides. */
const IOTC_TEMPLATE = {
  '@id': ID,
  '@type': ['ModelDefinition', 'DeviceModel'],
  '@context': ['dtmi:iotcentral:context;2', 'dtmi:dtdl:context;2'],
  displayName: { en: 'Pump' },
  capabilityModel: {
    '@id': 'dtmi:contoso:Pump;1',
    '@type': 'Interface',
    displayName: { en: 'Pump' },
    contents: [
      {
        '@type': ['Telemetry', 'Pressure', 'NumberValue'],
        name: 'pressure',
        displayName: { en: 'Pressure' },
        schema: 'double',
        unit: 'kilopascal',
        decimalPlaces: 1,
        minValue: 0,
        maxValue: 900,
        displayUnit: { en: 'kPa' },
      },
      {
        '@type': ['Telemetry', 'State'],
        name: 'mode',
        schema: {
          '@type': 'Enum',
          valueSchema: 'string',
          enumValues: [
            { name: 'off', enumValue: 'off', displayName: { en: 'Off' } },
            { name: 'on', enumValue: 'on' },
          ],
        },
      },
      { '@type': ['Telemetry', 'Event', 'EventValue'], name: 'fault', schema: 'string', severity: 'warning' },
      { '@type': ['Property', 'Location'], name: 'site', schema: 'geopoint' },
      { '@type': ['Telemetry', 'AccelerationVector'], name: 'shake', schema: 'vector', unit: 'gForce' },
      {
        '@type': ['Property', 'Cloud', 'StringValue'],
        name: 'customer',
        displayName: { en: 'Customer' },
        schema: 'string',
        maxLength: 40,
      },
      {
        '@type': ['Property', 'Cloud', 'Initialized'],
        name: 'serviceDays',
        schema: 'integer',
        initialValue: 90,
      },
      { '@type': ['Property', 'TimeSpan'], name: 'uptime', schema: 'long', unit: 'second' },
      { '@type': ['Property', 'DataSize'], name: 'disk', schema: 'long', unit: 'mebibyte' },
      { '@type': ['Property', 'Voltage'], name: 'supply', schema: 'float', unit: 'volt', writable: true },
      { '@type': 'Property', name: 'config', schema: 'dtmi:contoso:Config;1', writable: true },
      { '@type': 'Command', name: 'reboot', durable: true, request: { name: 'delay', schema: 'duration' } },
      {
        '@type': 'Component',
        name: 'motor',
        displayName: { en: 'Motor' },
        schema: {
          '@id': 'dtmi:contoso:Motor;1',
          '@type': 'Interface',
          contents: [
            {
              '@type': ['Telemetry', 'AngularVelocity'],
              name: 'rpm',
              schema: 'double',
              unit: 'revolutionPerMinute',
            },
            {
              '@type': ['Telemetry', 'RelativeHumidity'],
              name: 'humidity',
              schema: 'double',
              unit: 'percent',
            },
          ],
        },
      },
      { '@type': 'Relationship', name: 'building', target: 'dtmi:contoso:Building;1', maxMultiplicity: 1 },
    ],
    schemas: [
      {
        '@id': 'dtmi:contoso:Config;1',
        '@type': 'Object',
        fields: [
          { name: 'limit', schema: 'double' },
          {
            name: 'labels',
            schema: {
              '@type': 'Map',
              mapKey: { name: 'k', schema: 'string' },
              mapValue: { name: 'v', schema: 'string' },
            },
          },
        ],
      },
    ],
  },
};

describe('DTDL v2 validation: accepted documents and their summary', () => {
  it('accepts the Environmental Sensor built-in; its summary is the flattened contract shape', () => {
    const doc = parseTemplateBody(clone(ENVIRONMENTAL_SENSOR_TEMPLATE), ENVIRONMENTAL_SENSOR_TEMPLATE['@id']);
    assert.deepEqual(summarize(doc.capabilityModel), {
      // No components: the tutorial's device is one interface.
      components: [],
      telemetry: [
        {
          name: 'temp',
          displayName: 'Temperature',
          schema: 'double',
          unit: 'degreeFahrenheit',
          semanticType: 'Temperature',
        },
        {
          name: 'humid',
          displayName: 'Humidity',
          schema: 'double',
          unit: 'percent',
          semanticType: 'RelativeHumidity',
        },
      ],
      properties: [
        { name: 'state', displayName: 'Device State', schema: 'boolean', writable: false },
        { name: 'name', displayName: 'Customer Name', schema: 'string', writable: true },
        { name: 'brightness', displayName: 'Brightness Level', schema: 'long', writable: true },
      ],
      commands: [
        {
          name: 'blink',
          displayName: 'Blink',
          request: { name: 'interval', displayName: 'Interval', schema: 'long' },
          response: {
            name: 'blinkResponse',
            displayName: 'Blink response',
            schema: { '@type': 'Object', fields: [{ name: 'description', schema: 'string' }] },
          },
        },
        { name: 'turnon', displayName: 'Turn on' },
        { name: 'turnoff', displayName: 'Turn off' },
        { name: 'rundiagnostics', displayName: 'Run diagnostics' },
      ],
    });
  });

  it('accepts the Thermostat built-in, and the §5.2 Thermostat interface bare (wrapped, name from the interface)', () => {
    parseTemplateBody(clone(THERMOSTAT_TEMPLATE), THERMOSTAT_TEMPLATE['@id']);
    const doc = parseTemplateBody(clone(THERMOSTAT_MODEL), 'dtmi:com:example:Thermostat;1');
    assert.equal(doc.displayName, 'Thermostat');
    assert.deepEqual(doc['@type'], ['ModelDefinition', 'DeviceModel']);
    assert.equal(doc.description, 'Reports current temperature and provides desired temperature control.');
    const s = summarize(doc.capabilityModel);
    assert.deepEqual(s.telemetry, [
      {
        name: 'temperature',
        displayName: 'Temperature',
        schema: 'double',
        unit: 'degreeCelsius',
        semanticType: 'Temperature',
      },
    ]);
    assert.deepEqual(
      s.properties.map((p) => [p.name, p.writable]),
      [
        ['targetTemperature', true],
        ['maxTempSinceLastReboot', false],
      ],
    );
    const command = s.commands[0]!;
    assert.equal(command.name, 'getMaxMinReport');
    assert.deepEqual(command.request, { name: 'since', displayName: 'Since', schema: 'dateTime' });
    assert.equal((command.response?.schema as { fields: unknown[] }).fields.length, 5);
  });

  it('accepts an IoT Central template: wrapper context, cloud properties, overrides, State/Event/Location, components', () => {
    const doc = parseTemplateBody(clone(IOTC_TEMPLATE), ID);
    assert.equal(doc.displayName, 'Pump');
    assert.deepEqual(doc['@context'], ['dtmi:iotcentral:context;2', 'dtmi:dtdl:context;2']);
    const s = summarize(doc.capabilityModel);
    assert.deepEqual(
      s.telemetry.map((t) => [t.component ?? '', t.name, t.unit ?? '', t.semanticType ?? '']),
      [
        ['', 'pressure', 'kilopascal', 'Pressure'],
        ['', 'mode', '', ''],
        ['', 'fault', '', ''],
        ['', 'shake', 'gForce', ''],
        ['motor', 'rpm', 'revolutionPerMinute', 'AngularVelocity'],
        ['motor', 'humidity', 'percent', 'RelativeHumidity'],
      ],
    );
    const customer = s.properties.find((p) => p.name === 'customer');
    assert.deepEqual(customer, {
      name: 'customer',
      displayName: 'Customer',
      schema: 'string',
      writable: false,
      cloud: true,
    });
    const config = s.properties.find((p) => p.name === 'config');
    assert.equal(
      (config?.schema as Json)['@type'],
      'Object',
      'a schemas reference is resolved to its object',
    );
    assert.deepEqual(s.commands, [
      {
        name: 'reboot',
        displayName: 'reboot',
        request: { name: 'delay', displayName: 'delay', schema: 'duration' },
      },
    ]);
  });

  it('converts the §5.1 legacy capability model: components, DTMIs, v2 semantic units, displayUnit dropped', () => {
    const doc = parseTemplateBody(clone(LEGACY_ENVIRONMENTAL_SENSOR), ID);
    const model = doc.capabilityModel;
    assert.equal(model['@id'], 'dtmi:YOUR_COMPANY_NAME_HERE:sample_device;1');
    assert.deepEqual(model['@context'], ['dtmi:iotcentral:context;2', 'dtmi:dtdl:context;2']);
    assert.equal(doc.displayName, 'Environment Sensor Capability Model');
    const components = model['contents'] as Json[];
    assert.deepEqual(
      components.map((c) => [c['@type'], c['name'], (c['schema'] as Json)['@id']]),
      [
        ['Component', 'deviceinfo', 'dtmi:azureiot:DeviceManagement:DeviceInformation;1'],
        ['Component', 'sensor', 'dtmi:YOUR_COMPANY_NAME_HERE:EnvironmentalSensor;1'],
      ],
    );
    assert.ok(!JSON.stringify(model).includes('displayUnit'));
    const s = summarize(model);
    assert.deepEqual(s.telemetry, [
      {
        name: 'temp',
        component: 'sensor',
        displayName: 'Temperature',
        schema: 'double',
        unit: 'degreeFahrenheit',
        semanticType: 'Temperature',
      },
      {
        name: 'humid',
        component: 'sensor',
        displayName: 'Humidity',
        schema: 'double',
        unit: 'percent',
        semanticType: 'RelativeHumidity',
      },
    ]);
    assert.deepEqual(
      s.properties.find((p) => p.name === 'totalStorage'),
      {
        name: 'totalStorage',
        component: 'deviceinfo',
        displayName: 'Total storage',
        schema: 'long',
        writable: false,
      },
    );
    assert.deepEqual(
      s.commands.map((c) => c.name),
      ['blink', 'turnon', 'turnoff', 'rundiagnostics'],
    );
  });

  it('accepts an array file: components and extends by DTMI are inlined, inherited contents summarised', () => {
    const base = {
      '@context': 'dtmi:dtdl:context;2',
      '@id': 'dtmi:test:Base;1',
      '@type': 'Interface',
      contents: [property('serialNumber', 'string')],
    };
    const root = {
      '@context': 'dtmi:dtdl:context;2',
      '@id': 'dtmi:test:Controller;1',
      '@type': 'Interface',
      displayName: 'Controller',
      extends: 'dtmi:test:Base;1',
      contents: [
        { '@type': 'Component', name: 'thermostat1', schema: 'dtmi:com:example:Thermostat;1' },
        { '@type': 'Component', name: 'thermostat2', schema: 'dtmi:com:example:Thermostat;1' },
        { '@type': 'Command', name: 'reboot' },
      ],
    };
    const doc = parseTemplateBody([root, clone(THERMOSTAT_MODEL), base], ID);
    assert.equal(doc.displayName, 'Controller');
    const contents = doc.capabilityModel['contents'] as Json[];
    assert.equal((contents[0]!['schema'] as Json)['@id'], 'dtmi:com:example:Thermostat;1');
    assert.equal((contents[0]!['schema'] as Json)['@context'], undefined, 'inlined interfaces drop @context');
    const s = summarize(doc.capabilityModel);
    assert.deepEqual(
      s.telemetry.map((t) => `${t.component}.${t.name}`),
      ['thermostat1.temperature', 'thermostat2.temperature'],
    );
    assert.deepEqual(
      s.properties.filter((p) => p.component === undefined).map((p) => p.name),
      ['serialNumber'],
    );
    assert.deepEqual(
      s.commands.map((c) => `${c.component ?? ''}/${c.name}`),
      ['thermostat1/getMaxMinReport', 'thermostat2/getMaxMinReport', '/reboot'],
    );
  });

  it('accepts contents given as a single object (a JSON-LD set of one) and complex schemas 5 deep', () => {
    const model = modelWith({ contents: telemetry('deep', nest(5)) });
    const s = summarize(parseTemplateBody(model, ID).capabilityModel);
    assert.equal(s.telemetry[0]?.name, 'deep');
  });
});

describe('legacy ids: urn → DTMI', () => {
  const CASES: Array<[string, string]> = [
    [
      'urn:azureiot:DeviceManagement:DeviceInformation:1',
      'dtmi:azureiot:DeviceManagement:DeviceInformation;1',
    ],
    ['urn:{YOUR_COMPANY_NAME_HERE}:sample_device:1', 'dtmi:YOUR_COMPANY_NAME_HERE:sample_device;1'],
    ['urn:contoso:sensor-device:02', 'dtmi:contoso:sensor_device;2'],
    ['urn:contoso:2sensor', 'dtmi:contoso:x2sensor;1'],
    ['dtmi:com:example:Thermostat;1', 'dtmi:com:example:Thermostat;1'],
  ];
  for (const [urn, dtmi] of CASES) {
    it(`${urn} → ${dtmi}`, () => assert.equal(urnToDtmi(urn, '@id'), dtmi));
  }
  it('refuses an id with nothing left', () => {
    assert.throws(() => urnToDtmi('urn:{}:1', '@id'), /'urn:\{\}:1' cannot be converted to a DTMI/);
  });
});

describe('versioning under one DTMI (CENTRAL_API.md §6)', () => {
  const before = clone(THERMOSTAT_MODEL) as Json;
  const CASES: Array<[string, (m: Json) => void, string[]]> = [
    ['adding a telemetry', (m) => (m['contents'] as unknown[]).push(telemetry('humidity', 'double')), []],
    [
      'changing display names and descriptions',
      (m) => {
        const c = m['contents'] as Json[];
        c[0]!['displayName'] = { en: 'Temp' };
        c[0]!['description'] = 'x';
        m['displayName'] = 'Thermo';
      },
      [],
    ],
    [
      'removing a property',
      (m) => (m['contents'] as unknown[]).splice(2, 1),
      ["property 'maxTempSinceLastReboot' was removed"],
    ],
    [
      'changing a schema',
      (m) => ((m['contents'] as Json[])[0]!['schema'] = 'float'),
      ["telemetry 'temperature' changed"],
    ],
    [
      'making a property read-only',
      (m) => delete (m['contents'] as Json[])[1]!['writable'],
      ["property 'targetTemperature' changed"],
    ],
    [
      'changing a unit',
      (m) => ((m['contents'] as Json[])[0]!['unit'] = 'kelvin'),
      ["telemetry 'temperature' changed"],
    ],
    [
      'renaming a command',
      (m) => ((m['contents'] as Json[])[3]!['name'] = 'report'),
      ["command 'getMaxMinReport' was removed"],
    ],
  ];
  for (const [what, change, expected] of CASES) {
    it(`${what}: ${expected.length === 0 ? 'compatible' : expected.join(', ')}`, () => {
      const after = clone(before);
      change(after);
      assert.deepEqual(compatibilityProblems(before, after), expected);
    });
  }
});

/**
 * Crafted documents that cost exponential time, or recursion deep enough to overflow the
 * stack, without the limits. Each is sized so that the unbounded code would take many seconds
 * (or crash with a RangeError, a 500 over REST); the bound on the time is a guard against a
 * hang, not a benchmark.
 */
