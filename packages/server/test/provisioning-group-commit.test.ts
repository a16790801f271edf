/**
 * Assignments saved together share one transaction (group commit), yet each caller gets its
 * own outcome: a bad row fails only its own registration, the others are committed. SQLite
 * on a file, as the server runs it (WAL, synchronous = FULL).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { ProvisioningStore } from '../src/provisioning/provisioning-store.js';
import { openSqlite } from '../src/store/sqlite.js';

const NOW = '2026-01-01T00:00:00.000Z';

function assignment(id: string) {
  const registration = {
    registration_id: id,
    device_id: id,
    status: 'assigned',
    substatus: 'initialAssignment',
    enrollment_group_id: null,
    attestation_type: 'x509',
    assigned_hub: 'localhost',
    operation_id: `5.op.${id}`,
    payload: null,
    result: '{}',
    etag: 'e1',
    created_at: NOW,
    updated_at: NOW,
  };
  const auth = {
    auth_type: 'x509Thumbprint',
    x509_primary_sha1: 'A'.repeat(40),
    x509_primary_sha256: 'B'.repeat(64),
    x509_secondary_sha1: 'A'.repeat(40),
    x509_secondary_sha256: 'B'.repeat(64),
    sas_primary_key: null,
    sas_secondary_key: null,
  };
  const device = {
    id,
    display_name: id,
    template: null,
    enabled: 1,
    provisioned: 1,
    simulated: 0,
    ...auth,
    enrollment_group_id: null,
    assigned_hub: 'localhost',
    etag: 'e2',
    created_at: NOW,
    updated_at: NOW,
  };
  const update = { ...auth, provisioned: 1, assigned_hub: 'localhost', etag: 'e3', updated_at: NOW };
  return [registration, device, update] as const;
}

test('concurrent assignments: each resolves once committed; a failing one fails alone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-group-commit-'));
  const db = await openSqlite({ filename: join(dir, 'store.db') });
  t.after(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const store = new ProvisioningStore(db);
  const [badRegistration, badDevice, badUpdate] = assignment('bad');
  const results = await Promise.allSettled([
    store.saveAssignment(...assignment('dev-a')),
    // NOT NULL violation: the shared transaction fails, then this one fails on its own.
    store.saveAssignment({ ...badRegistration, status: null as unknown as string }, badDevice, badUpdate),
    store.saveAssignment(...assignment('dev-b')),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.match(String((results[1] as PromiseRejectedResult).reason), /NOT NULL/);
  for (const id of ['dev-a', 'dev-b']) {
    assert.equal((await store.getRegistration(id))?.operation_id, `5.op.${id}`);
    assert.equal((await store.getDevice(id))?.provisioned, 1);
  }
  assert.equal(await store.getRegistration('bad'), undefined);
  assert.equal(await store.getDevice('bad'), undefined, 'the failed assignment left no device behind');

  // A later burst after the first settled still commits (the flush restarts).
  await Promise.all([
    store.saveAssignment(...assignment('dev-c')),
    store.saveAssignment(...assignment('dev-a')),
  ]);
  assert.equal((await store.getRegistration('dev-c'))?.device_id, 'dev-c');
});
