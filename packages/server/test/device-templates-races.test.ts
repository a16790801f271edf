/**
 * Device template writes that race (CENTRAL_API.md §6): PUTs of one template ID from one
 * process or two, compatible or not, on a real SQLite database whose queries yield.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kysely, KyselyPlugin } from 'kysely';
import { DeviceTemplateService } from '../src/app/device-templates.js';
import { THERMOSTAT_MODEL } from '../src/app/device-templates-builtin.js';
import type { GatehouseError } from '../src/errors.js';
import type { Database } from '../src/store/schema.js';
import { openSqlite } from '../src/store/sqlite.js';

/**
 * PUT racing PUT on one template ID. Over REST on this SQLite store a PUT's queries run
 * synchronously, so two requests never interleave inside one process; a networked store
 * (or a second process on the same file) interleaves them. A plugin that yields to the event
 * loop after every query gives the same interleaving here, deterministically, on a real
 * SQLite database: both PUTs read "no such template" (or the same etag) before either writes.
 */
describe('PUT racing PUT on one template ID (queries that yield, as a networked store does)', () => {
  const yielding: KyselyPlugin = {
    transformQuery: (args) => args.node,
    transformResult: async (args) => {
      await new Promise((resolve) => setImmediate(resolve));
      return args.result;
    },
  };
  let db: Kysely<Database>;
  let service: DeviceTemplateService;
  before(async () => {
    db = await openSqlite({ filename: ':memory:' });
    service = new DeviceTemplateService(db.withPlugin(yielding));
  });
  after(async () => db?.destroy());

  const model = (extra: unknown[] = []) => ({
    ...THERMOSTAT_MODEL,
    '@id': 'dtmi:test:Racer;1',
    contents: [...(THERMOSTAT_MODEL['contents'] as unknown[]), ...extra],
  });
  const x = (schema: string) => [{ '@type': 'Telemetry', name: 'x', schema }];
  const rows = async (id: string) =>
    (await db.selectFrom('device_templates').select('id').where('id', '=', id).execute()).length;

  it('8 PUTs creating one template: all succeed (the later ones replace it), one row (was a UNIQUE constraint error, 500)', async () => {
    const id = 'dtmi:test:RaceCreate;1';
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => service.put(id, model())));
    assert.deepEqual(
      results.map((r) => r.status),
      Array.from({ length: 8 }, () => 'fulfilled'),
      String(results.find((r) => r.status === 'rejected')?.reason),
    );
    assert.equal(await rows(id), 1);
  });

  it('2 processes (2 services on one database) creating one template: both succeed, the second re-read and replaced it', async () => {
    const id = 'dtmi:test:RaceTwoProcesses;1';
    const other = new DeviceTemplateService(db.withPlugin(yielding));
    const results = await Promise.allSettled([service.put(id, model()), other.put(id, model())]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled'],
      String(results.find((r) => r.status === 'rejected')?.reason),
    );
    assert.equal(await rows(id), 1);
    const clash = await Promise.allSettled([
      service.put('dtmi:test:RaceTwoClash;1', model(x('double'))),
      other.put('dtmi:test:RaceTwoClash;1', model(x('string'))),
    ]);
    assert.deepEqual(
      clash.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as GatehouseError).code)),
      ['ok', 'ERR_TEMPLATE_INCOMPATIBLE'],
    );
  });

  it('2 PUTs creating one template with incompatible models: the second is checked against the first (409)', async () => {
    const id = 'dtmi:test:RaceClash;1';
    const results = await Promise.allSettled([
      service.put(id, model(x('double'))),
      service.put(id, model(x('string'))),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected'],
    );
    const reason = (results[1] as PromiseRejectedResult).reason as GatehouseError;
    assert.equal(reason.code, 'ERR_TEMPLATE_INCOMPATIBLE', String(reason));
    assert.match(reason.message, /telemetry 'x' changed/);
    const stored = await service.get(id);
    assert.deepEqual(stored.summary.telemetry.find((t) => t.name === 'x')?.schema, 'double');
  });

  it('2 PUTs replacing a template, each compatible with it but not with each other: the second is refused (409), not stored unchecked', async () => {
    const id = 'dtmi:test:RaceReplace;1';
    await service.put(id, model());
    const results = await Promise.allSettled([
      service.put(id, model(x('double'))),
      service.put(id, model(x('string'))),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected'],
    );
    assert.equal(
      ((results[1] as PromiseRejectedResult).reason as GatehouseError).code,
      'ERR_TEMPLATE_INCOMPATIBLE',
    );
    const stored = await service.get(id);
    assert.deepEqual(stored.summary.telemetry.find((t) => t.name === 'x')?.schema, 'double');
  });
});
