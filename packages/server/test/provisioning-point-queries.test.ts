/**
 * The registration path's point queries are compiled once and run with each new key: every
 * call must answer for its own key (never the key of the call that compiled it), and unknown
 * keys find nothing. Run on SQLite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { ProvisioningStore } from '../src/provisioning/provisioning-store.js';
import { openStore, type Store } from '../src/store/open-store.js';
import { postgresSkipReason, withPostgres } from './helpers/postgres.js';

const NOW = '2026-01-01T00:00:00.000Z';

function enrollment(id: string, primary: string, secondary: string | null) {
  return {
    device_id: id,
    type: 'x509',
    primary_pem: null,
    primary_sha1: null,
    primary_sha256: primary,
    secondary_pem: null,
    secondary_sha1: null,
    secondary_sha256: secondary,
    primary_key: null,
    secondary_key: null,
    etag: 'e',
    created_at: NOW,
    updated_at: NOW,
  };
}

function assignment(id: string) {
  const auth = {
    auth_type: 'x509Thumbprint',
    x509_primary_sha1: null,
    x509_primary_sha256: `${id}-sha256`,
    x509_secondary_sha1: null,
    x509_secondary_sha256: `${id}-sha256`,
    sas_primary_key: null,
    sas_secondary_key: null,
  };
  return [
    {
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
    },
    {
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
    },
    { ...auth, provisioned: 1, assigned_hub: 'localhost', etag: 'e3', updated_at: NOW },
  ] as const;
}

async function eachKeyAnswersForItself(store: Store): Promise<void> {
  const provisioning = new ProvisioningStore(store.db);
  await provisioning.upsertIndividualEnrollment(enrollment('ind-a', 'AAAA', 'A2A2'));
  await provisioning.upsertIndividualEnrollment(enrollment('ind-b', 'BBBB', null));
  await provisioning.saveAssignment(...assignment('dev-a'));
  await provisioning.saveAssignment(...assignment('dev-b'));

  // Alternate keys so that a query compiled for one key is reused for the others.
  for (const id of ['ind-a', 'ind-b', 'ind-a']) {
    assert.equal((await provisioning.getIndividualEnrollment(id))?.device_id, id);
  }
  assert.equal(await provisioning.getIndividualEnrollment('ind-c'), undefined);
  assert.equal((await provisioning.findIndividualEnrollmentByThumbprint('BBBB'))?.device_id, 'ind-b');
  assert.equal((await provisioning.findIndividualEnrollmentByThumbprint('AAAA'))?.device_id, 'ind-a');
  // Both columns take the parameter: the secondary thumbprint finds its enrollment too.
  assert.equal((await provisioning.findIndividualEnrollmentByThumbprint('A2A2'))?.device_id, 'ind-a');
  assert.equal(await provisioning.findIndividualEnrollmentByThumbprint('CCCC'), undefined);
  // The attestation's one query: the registration ID's own enrollment first, else the one
  // holding the thumbprint (primary or secondary), else none; each call with its own keys.
  const forDevice = async (id: string, sha: string) =>
    (await provisioning.findIndividualEnrollmentFor(id, sha))?.device_id;
  assert.equal(await forDevice('ind-a', 'BBBB'), 'ind-a', 'the registration ID wins over a thumbprint');
  assert.equal(await forDevice('ind-b', 'AAAA'), 'ind-b');
  assert.equal(await forDevice('other', 'A2A2'), 'ind-a');
  assert.equal(await forDevice('other', 'BBBB'), 'ind-b');
  assert.equal(await forDevice('ind-c', 'CCCC'), undefined);
  assert.equal(await forDevice('AAAA', 'ind-a'), undefined, 'keys are not swapped');
  for (const id of ['dev-b', 'dev-a', 'dev-b']) {
    assert.equal((await provisioning.getDevice(id))?.x509_primary_sha256, `${id}-sha256`);
    assert.equal((await provisioning.getRegistration(id))?.operation_id, `5.op.${id}`);
  }
  assert.equal(await provisioning.getDevice('dev-c'), undefined);
  assert.equal(await provisioning.getRegistration('dev-c'), undefined);

  // The assignment's upserts are compiled once too: assigning dev-a again updates its rows
  // with the new values, keeps the registration's creation time, and leaves dev-b alone.
  const LATER = '2026-02-01T00:00:00.000Z';
  const [registration, device, update] = assignment('dev-a');
  await provisioning.saveAssignment(
    { ...registration, operation_id: '5.op.again', created_at: LATER, updated_at: LATER },
    { ...device, etag: 'not-used-on-conflict' },
    { ...update, etag: 'e4', updated_at: LATER },
  );
  const again = await provisioning.getRegistration('dev-a');
  assert.deepEqual([again?.operation_id, again?.created_at, again?.updated_at], ['5.op.again', NOW, LATER]);
  assert.deepEqual([(await provisioning.getDevice('dev-a'))?.etag], ['e4']);
  assert.equal((await provisioning.getRegistration('dev-b'))?.operation_id, '5.op.dev-b');
  assert.equal((await provisioning.getDevice('dev-b'))?.etag, 'e2');
}

describe('provisioning point queries on SQLite', () => {
  it('answer each key for itself', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-point-queries-'));
    const store = await openStore({ dataDir: dir });
    t.after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    await eachKeyAnswersForItself(store);
  });
});

describe('provisioning point queries on PostgreSQL', { skip: postgresSkipReason() }, () => {
  const pg = withPostgres();
  it('answer each key for itself', async (t) => {
    const store = await openStore({ dataDir: '/unused', databaseUrl: pg.url });
    t.after(() => store.close());
    await eachKeyAnswersForItself(store);
  });
});
