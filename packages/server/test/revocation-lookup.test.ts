/**
 * The revocation lookup every certificate registration and connection makes, compiled once per
 * chain length and run with each chain's issuers and serials: a revoked certificate is found
 * wherever it sits in the chain, each call answers for its own certificates (never those of
 * the call that compiled it), an issuer and a serial are never taken for each other, and a
 * serial revoked under one issuer is not revoked under another. On SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { ProvisioningStore } from '../src/provisioning/provisioning-store.js';
import { RevocationStore } from '../src/revocation/revocation-store.js';
import { openStore, type Store } from '../src/store/open-store.js';
import { postgresSkipReason, withPostgres } from './helpers/postgres.js';

const NOW = '2026-01-01T00:00:00.000Z';
const CA = 'CN=lookup-ca';
const OTHER_CA = 'CN=other-ca';

async function lookups(store: Store): Promise<void> {
  await new ProvisioningStore(store.db).insertGroup({
    id: 'g',
    display_name: 'g',
    type: 'iot',
    attestation_type: 'x509',
    enabled: 1,
    primary_key: null,
    secondary_key: null,
    etag: 'e',
    created_at: NOW,
    updated_at: NOW,
  });
  const revocation = new RevocationStore(store.db);
  const crl = {
    group_id: 'g',
    issuer: CA,
    this_update: NOW,
    next_update: null,
    pem: 'pem',
    imported_at: NOW,
  };
  const revoked = (serial: string) => ({
    group_id: 'g',
    ca_sha256: 'ca',
    issuer: CA,
    serial,
    revoked_at: NOW,
  });
  await revocation.replaceCrl({ ...crl, ca_sha256: 'ca' }, [revoked('0A'), revoked('0B')]);
  const found = async (...chain: Array<[string, string]>) =>
    (await revocation.findRevoked(chain.map(([issuer, serial]) => ({ issuer, serial }))))?.serial;

  assert.equal(await found(), undefined, 'an empty chain');
  for (let round = 0; round < 2; round++) {
    assert.equal(await found([CA, '0A']), '0A');
    assert.equal(await found([CA, '0C']), undefined);
    assert.equal(await found([CA, '0B']), '0B');
    assert.equal(await found([OTHER_CA, '0A']), undefined, 'the serial under another issuer');
    assert.equal(await found(['0A', CA]), undefined, 'issuer and serial not swapped');
    // Chains of two: the revoked one found as leaf or as the certificate above it.
    assert.equal(await found([CA, '0C'], [CA, '0B']), '0B');
    assert.equal(await found([CA, '0A'], [OTHER_CA, '01']), '0A');
    assert.equal(await found([CA, '0C'], [OTHER_CA, '0B']), undefined);
  }
}

describe('revocation lookup on SQLite', () => {
  it('finds each chain’s own revoked certificate', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-revocation-lookup-'));
    const store = await openStore({ dataDir: dir });
    t.after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    await lookups(store);
  });
});

describe('revocation lookup on PostgreSQL', { skip: postgresSkipReason() }, () => {
  const pg = withPostgres();
  it('finds each chain’s own revoked certificate', async (t) => {
    const store = await openStore({ dataDir: '/unused', databaseUrl: pg.url });
    t.after(() => store.close());
    await lookups(store);
  });
});
