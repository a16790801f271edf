/**
 * The audit log's behaviour through a real server on a real socket, run once on SQLite and
 * once on PostgreSQL (audit-log-sqlite.test.ts, audit-log-postgres.test.ts): who changed
 * what with before and after, no secret anywhere, paging, filters and their refusals,
 * retention, and the export feed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { pino } from 'pino';

import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { pruneAuditLog } from '../../src/audit/audit-retention.js';
import { ROLE_IDS } from '../../src/app/roles.js';
import type { Database } from '../../src/store/schema.js';
import { startTestServer, type TestServer } from './test-server.js';
import { PASSWORD, signIn, userSession } from './users.js';

type Page = { value: AuditEntry[]; nextLink?: string };

const key = () => randomBytes(32).toString('base64');

export function auditSuite(label: string, start: () => Promise<TestServer>): void {
  describe(`audit log (${label})`, () => {
    let server: TestServer;
    let log: AuditLog;
    before(async () => {
      server = await start();
      log = new AuditLog(server.db);
    });
    after(async () => server?.stop());

    const list = async (query = '', token?: string) => {
      const res = await server.api<Page>('GET', `/api/auditLogs${query}`, undefined, token);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    };
    const entriesOf = async (resourceId: string) =>
      (await list(`?resourceId=${encodeURIComponent(resourceId)}`)).value;

    it('records a change by an API token: created, updated with before and after, deleted', async () => {
      assert.equal(
        (await server.api('PUT', '/api/devices/thermo-1', { displayName: 'Thermo 1' })).status,
        200,
      );
      assert.equal(
        (await server.api('PATCH', '/api/devices/thermo-1', { displayName: 'Thermo One' })).status,
        200,
      );
      // A second token with the Builder role: its own id is the actor.
      const made = await server.api<{ token: string }>('PUT', '/api/apiTokens/builder-ci', {
        roles: [{ role: ROLE_IDS.builder }],
      });
      assert.equal(made.status, 200, JSON.stringify(made.body));
      const secret = /sig=([^&]+)/.exec(made.body.token)?.[1];
      assert.ok(secret);
      const byBuilder = await fetch(`${server.baseUrl}/api/devices/thermo-1`, {
        method: 'DELETE',
        headers: { authorization: made.body.token },
      });
      assert.equal(byBuilder.status, 204);

      const [deleted, updated, created, ...rest] = await entriesOf('thermo-1');
      assert.equal(rest.length, 0);
      assert.equal(created?.action, 'created');
      assert.equal(created.resource.type, 'device');
      assert.equal(created.resource.displayName, 'Thermo 1');
      assert.equal(created.actor.type, 'apiToken');
      assert.equal(created.before, undefined);
      assert.equal((created.after as { displayName: string }).displayName, 'Thermo 1');
      assert.equal(updated?.action, 'updated');
      assert.equal(updated.method, 'PATCH');
      assert.equal((updated.before as { displayName: string }).displayName, 'Thermo 1');
      assert.equal((updated.after as { displayName: string }).displayName, 'Thermo One');
      assert.equal(deleted?.action, 'deleted');
      assert.deepEqual(deleted.actor, { type: 'apiToken', id: 'builder-ci', name: 'builder-ci' });
      assert.equal((deleted.before as { displayName: string }).displayName, 'Thermo One');
      assert.equal(deleted.after, undefined);
      assert.equal(deleted.status, 204);
      assert.equal(deleted.path, '/api/devices/thermo-1');
      assert.ok(Date.parse(deleted.time) >= Date.parse(created.time));
    });

    it('records a user: created without its password, signed in, its change, signed out', async () => {
      const token = await userSession(server, 'alice', [ROLE_IDS.administrator]);
      const put = await server.api(
        'PUT',
        '/api/deviceGroups/cold-rooms',
        { displayName: 'Cold rooms', filter: 'SELECT * FROM devices WHERE $simulated = false' },
        token,
      );
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const patch = await server.api(
        'PATCH',
        '/api/deviceGroups/cold-rooms',
        { displayName: 'Cold rooms (EU)' },
        token,
      );
      assert.equal(patch.status, 200, JSON.stringify(patch.body));
      assert.equal((await server.api('DELETE', '/api/session', undefined, token)).status, 204);

      const user = await entriesOf('alice');
      const actions = user.map((e) => `${e.resource.type}:${e.action}`);
      assert.deepEqual(actions, ['session:signedOut', 'session:signedIn', 'user:created']);
      const alice = { type: 'user', id: 'alice', name: 'alice@example.com' };
      assert.deepEqual(user[0]?.actor, alice);
      assert.deepEqual(user[1]?.actor, alice);
      assert.equal(user[2]?.actor.type, 'apiToken');
      assert.equal((user[2]?.after as { email: string }).email, 'alice@example.com');
      const [renamed, group] = await entriesOf('cold-rooms');
      assert.deepEqual(group?.actor, alice);
      assert.equal(group?.action, 'created');
      assert.equal(group?.resource.type, 'deviceGroup');
      assert.equal(group?.resource.displayName, 'Cold rooms');
      assert.deepEqual(renamed?.actor, alice);
      assert.equal(renamed?.action, 'updated');
      assert.equal((renamed?.before as { displayName: string }).displayName, 'Cold rooms');
      assert.equal((renamed?.after as { displayName: string }).displayName, 'Cold rooms (EU)');
      assert.equal(
        (renamed?.after as { filter: string }).filter,
        'SELECT * FROM devices WHERE $simulated = false',
      );
    });

    it('never stores or answers a secret: API token, password, device keys, enrollment group keys', async () => {
      const token = await server.api<{ token: string }>('PUT', '/api/apiTokens/secretive', {
        roles: [{ role: ROLE_IDS.operator }],
      });
      assert.equal(token.status, 200);
      const password = `pw-${randomBytes(8).toString('hex')}`;
      const userPut = await server.api('PUT', '/api/users/bob', {
        type: 'email',
        email: 'bob@example.com',
        roles: [{ role: ROLE_IDS.operator }],
        password,
      });
      assert.equal(userPut.status, 200, JSON.stringify(userPut.body));
      assert.equal((await signIn(server, 'bob@example.com', password)).status, 200);
      const changed = await server.api(
        'POST',
        '/api/session/password',
        { currentPassword: password, newPassword: `${password}-2` },
        ((await signIn(server, 'bob@example.com', password)).body as { token: string }).token,
      );
      assert.equal(changed.status, 204);
      const deviceKeys = { primaryKey: key(), secondaryKey: key() };
      const device = await server.api('PUT', '/api/devices/keyed/attestation', {
        type: 'symmetricKey',
        symmetricKey: deviceKeys,
      });
      assert.equal(device.status, 200, JSON.stringify(device.body));
      const groupKeys = { primaryKey: key(), secondaryKey: key() };
      const group = await server.api('PUT', '/api/enrollmentGroups/keyed-group', {
        displayName: 'Keyed',
        type: 'iot',
        attestation: { type: 'symmetricKey', symmetricKey: groupKeys },
      });
      assert.equal(group.status, 200, JSON.stringify(group.body));
      const patched = await server.api('PATCH', '/api/enrollmentGroups/keyed-group', {
        displayName: 'Keyed 2',
      });
      assert.equal(patched.status, 200);
      // The built-in group's keys too (its before/after of a PATCH).
      const builtIn = await server.api<{ attestation: { symmetricKey: typeof groupKeys } }>(
        'GET',
        '/api/enrollmentGroups/SAS-IoT-Devices',
      );
      assert.equal(
        (await server.api('PATCH', '/api/enrollmentGroups/SAS-IoT-Devices', { enabled: true })).status,
        200,
      );

      const secrets = [
        token.body.token,
        /sig=([^&]+)/.exec(token.body.token)?.[1] ?? 'missing',
        password,
        `${password}-2`,
        PASSWORD,
        ...Object.values(deviceKeys),
        ...Object.values(groupKeys),
        ...Object.values(builtIn.body.attestation.symmetricKey),
      ];
      const answer = JSON.stringify((await list()).value);
      const rows = JSON.stringify((await sql`select * from audit_log`.execute(server.db)).rows);
      for (const secret of secrets) {
        assert.ok(!answer.includes(secret), `the API answer holds a secret (${secret.slice(0, 6)}…)`);
        assert.ok(!rows.includes(secret), `the table holds a secret (${secret.slice(0, 6)}…)`);
      }
      // Not vacuous: those changes are there, with their secrets replaced.
      for (const id of ['secretive', 'bob', 'keyed', 'keyed-group', 'SAS-IoT-Devices']) {
        assert.ok((await entriesOf(id)).length > 0, `no entry for ${id}`);
      }
      const [groupPatch] = await entriesOf('keyed-group');
      assert.equal(groupPatch?.action, 'updated');
      assert.equal(
        (groupPatch?.before as { attestation: { symmetricKey: unknown } }).attestation.symmetricKey,
        '[redacted]',
      );
      assert.ok(answer.includes('[redacted]'));
    });

    it('pages newest first with $top and nextLink, and filters by actor, resource, action and time', async () => {
      for (let i = 0; i < 7; i++) {
        const res = await server.api('PUT', `/api/deviceGroups/paged-${i}`, {
          displayName: `Paged ${i}`,
          filter: 'SELECT * FROM devices',
        });
        assert.equal(res.status, 200);
      }
      const all = (await list()).value;
      const seen: number[] = [];
      let page = await list('?$top=3&resourceType=deviceGroup');
      assert.equal(page.value.length, 3);
      for (;;) {
        seen.push(...page.value.map((e) => e.id));
        if (page.nextLink === undefined) break;
        const next = new URL(page.nextLink);
        page = await list(next.search);
      }
      const groups = all.filter((e) => e.resource.type === 'deviceGroup').map((e) => e.id);
      assert.deepEqual(seen, groups, 'every page in order, none twice, none left out');
      assert.ok(seen.length >= 8);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1]! > seen[i]!, 'newest first');

      const byBuilder = (await list('?actor=builder-ci')).value;
      assert.ok(byBuilder.length >= 1 && byBuilder.every((e) => e.actor.id === 'builder-ci'));
      const byUsers = (await list('?actorType=user')).value;
      assert.ok(byUsers.length >= 2 && byUsers.every((e) => e.actor.type === 'user'));
      const byEmail = (await list('?actor=alice%40example.com')).value;
      assert.ok(byEmail.length >= 2 && byEmail.every((e) => e.actor.id === 'alice'));
      const deletes = (await list('?action=deleted')).value;
      assert.ok(deletes.length >= 1 && deletes.every((e) => e.action === 'deleted'));
      const one = (await list('?resourceType=deviceGroup&resourceId=paged-3')).value;
      assert.deepEqual(
        one.map((e) => e.resource.id),
        ['paged-3'],
      );
      const middle = all.find((e) => e.resource.id === 'paged-3')!;
      const since = (await list(`?from=${encodeURIComponent(middle.time)}`)).value;
      assert.ok(since.some((e) => e.resource.id === 'paged-6'));
      assert.ok(since.every((e) => e.time >= middle.time));
      const until = (await list(`?to=${encodeURIComponent(middle.time)}`)).value;
      assert.ok(until.some((e) => e.resource.id === 'paged-0'));
      assert.ok(until.every((e) => e.time <= middle.time));
    });

    it('refuses each bad filter value with a 400 that names the parameter', async () => {
      const cases: Array<[string, string]> = [
        ['action=exploded', 'action'],
        ['actorType=robot', 'actorType'],
        ['resourceType=dev%20ice', 'resourceType'],
        ['from=yesterday', 'from'],
        ['to=2026-13-45T00:00:00Z', 'to'],
        ['from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'from'],
        ['$top=0', '$top'],
        ['$top=101', '$top'],
        ['maxpagesize=abc', 'maxpagesize'],
        ['$skiptoken=not-ours', '$skiptoken'],
        ['actor=a&actor=b', 'actor'],
        [`resourceId=${'x'.repeat(1025)}`, 'resourceId'],
      ];
      for (const [query, name] of cases) {
        const res = await server.api<{ error: { code: string; message: string } }>(
          'GET',
          `/api/auditLogs?${query}`,
        );
        assert.equal(res.status, 400, `${query}: ${JSON.stringify(res.body)}`);
        assert.ok(
          // Ours quote it; fastify's own check of a repeated parameter says `querystring/<name>`.
          res.body.error.message.includes(`'${name}'`) ||
            res.body.error.message.includes(`querystring/${name} `),
          `${query}: '${res.body.error.message}' does not name '${name}'`,
        );
      }
    });

    it('is for administrators only', async () => {
      const operator = await userSession(server, 'olga', [ROLE_IDS.operator]);
      const res = await server.api('GET', '/api/auditLogs', undefined, operator);
      assert.equal(res.status, 403);
    });

    it('retention deletes the entries older than the retention days and keeps the rest', async () => {
      const old = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
      const entry = (time: string, id: string) => ({
        time,
        actor: { type: 'apiToken' as const, id: 'retention-test' },
        action: 'updated' as const,
        resource: { type: 'device', id },
        method: 'PATCH',
        path: `/api/devices/${id}`,
        status: 200,
      });
      await log.record(entry(old(45), 'old-45'));
      await log.record(entry(old(20), 'old-20'));
      const silent = pino({ level: 'silent' });
      assert.equal(await pruneAuditLog(log, undefined, silent), 1, 'default: 30 days');
      assert.deepEqual(
        (await list('?actor=retention-test')).value.map((e) => e.resource.id),
        ['old-20'],
      );
      assert.equal(await pruneAuditLog(log, 10, silent), 1);
      assert.deepEqual((await list('?actor=retention-test')).value, []);
      assert.ok((await entriesOf('thermo-1')).length === 3, 'recent entries stay');
    });

    it('is a feed for the audit export: id order, IoT Central messages, only creates, updates and deletes', async () => {
      const feed = await log.after(0, 1000);
      assert.ok(feed.length >= 10);
      for (let i = 1; i < feed.length; i++) assert.ok(feed[i - 1]!.id < feed[i]!.id);
      for (const { message } of feed) {
        assert.equal(message['messageSource'], 'audit');
        assert.equal(message['schema'], 'default@v1');
        assert.ok(['created', 'updated', 'deleted'].includes(message['messageType'] as string));
        assert.match(message['enqueuedTime'] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      }
      const device = feed.filter((e) => (e.message['resource'] as { id: string }).id === 'thermo-1');
      assert.deepEqual(
        device.map((e) => e.message['messageType']),
        ['created', 'updated', 'deleted'],
      );
      const [created, updated] = device;
      assert.deepEqual(created?.message, {
        actor: created?.message['actor'],
        enqueuedTime: created?.message['enqueuedTime'],
        messageSource: 'audit',
        messageType: 'created',
        resource: { id: 'thermo-1', type: 'device', displayName: 'Thermo 1' },
        schema: 'default@v1',
        deviceId: 'thermo-1',
      });
      assert.equal((created?.message['actor'] as { type: string }).type, 'apiToken');
      assert.ok((updated?.message['updated'] as { fields: string[] }).fields.includes('displayName'));
      // Sign-ins are ours, not IoT Central's: not in the export.
      assert.ok(!feed.some((e) => e.message['messageType'] === 'signedIn'));
      // Paging by id: what follows the second entry, two at a time.
      const next = await log.after(feed[1]!.id, 2);
      assert.deepEqual(
        next.map((e) => e.id),
        [feed[2]!.id, feed[3]!.id],
      );
      assert.deepEqual(await log.after(feed[feed.length - 1]!.id, 10), []);
    });
  });
}

/** A store opened before the server starts, and how the server should open it. */
export interface PreparedStore {
  dataDir: string;
  databaseUrl: string;
  db: Kysely<Database>;
  close(): Promise<void>;
  /** Removes the data folder (and database) once the server stopped. */
  dispose(): Promise<void>;
}

/**
 * The server's own retention job prunes the audit log (`--audit-retention-days`): entries
 * written into the store before the server starts, one older and one younger than the
 * retention, and the first run of the hourly retention singleton at start deletes the older.
 */
export function retentionAtStartSuite(label: string, prepare: () => Promise<PreparedStore>): void {
  describe(`audit log retention in the server (${label})`, () => {
    it('the retention singleton deletes entries older than auditRetentionDays at start', async () => {
      const store = await prepare();
      const log = new AuditLog(store.db);
      const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
      for (const [id, days] of [
        ['forty-days', 40],
        ['twelve-days', 12],
        ['five-days', 5],
      ] as const) {
        await log.record({
          time: daysAgo(days),
          actor: { type: 'apiToken', id: 'retention-start' },
          action: 'updated',
          resource: { type: 'device', id },
          method: 'PATCH',
          path: `/api/devices/${id}`,
          status: 200,
        });
      }
      await store.close();
      const server = await startTestServer({
        dataDir: store.dataDir,
        databaseUrl: store.databaseUrl,
        auditRetentionDays: 10,
      });
      try {
        const deadline = Date.now() + 15_000;
        let ids: string[] = [];
        for (;;) {
          const res = await server.api<Page>('GET', '/api/auditLogs?actor=retention-start');
          ids = res.body.value.map((e) => e.resource.id ?? '');
          if (ids.length === 1 || Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.deepEqual(ids, ['five-days']);
      } finally {
        await server.stop();
        await store.dispose();
      }
    });
  });
}
