/**
 * REST API authorization by role (DESIGN.md security rules): Administrator, Builder, Operator
 * and the organization roles, what each may read and change, a token whose roles are all
 * unknown, and the built-in roles listed with their fixed IDs.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ROLE_IDS } from '../src/api/index.js';
import {
  ADMINISTRATOR,
  apiHarness,
  BUILDER,
  expectError,
  OPERATOR,
  type ApiHarness,
} from './helpers/api-harness.js';

const GROUP = { displayName: 'G', type: 'iot', attestation: { type: 'x509' } };

describe('authorization by role', () => {
  let h: ApiHarness;
  let operator: string;
  let builder: string;
  let orgViewer: string;
  before(async () => {
    h = await apiHarness();
    operator = `Bearer ${(await h.token('operator', [OPERATOR])).secret}`;
    builder = `Bearer ${(await h.token('builder', [BUILDER])).secret}`;
    orgViewer = `Bearer ${(await h.token('org-viewer', [ROLE_IDS.orgViewer])).secret}`;
    assert.equal((await h.call('PUT', '/api/enrollmentGroups/existing', GROUP)).statusCode, 200);
  });
  after(async () => h.close());

  it('Operator reads but may not write', async () => {
    for (const url of [
      '/api/enrollmentGroups',
      '/api/enrollmentGroups/existing',
      '/api/devices',
      '/api/application',
      '/api/roles',
      '/api/provisioning/attempts',
    ]) {
      assert.equal((await h.call('GET', url, undefined, operator)).statusCode, 200, url);
    }
    expectError(
      await h.call('PUT', '/api/enrollmentGroups/op', GROUP, operator),
      403,
      'ERR_FORBIDDEN',
      /reading only/,
    );
    expectError(
      await h.call('PATCH', '/api/enrollmentGroups/existing', { enabled: false }, operator),
      403,
      'ERR_FORBIDDEN',
    );
    expectError(
      await h.call('DELETE', '/api/enrollmentGroups/existing', undefined, operator),
      403,
      'ERR_FORBIDDEN',
    );
    expectError(
      await h.call(
        'POST',
        '/api/enrollmentGroups/existing/certificates/primary/generateVerificationCode',
        undefined,
        operator,
      ),
      403,
      'ERR_FORBIDDEN',
    );
    expectError(
      await h.call('PUT', '/api/devices/dev-1/attestation', { type: 'x509' }, operator),
      403,
      'ERR_FORBIDDEN',
    );
    // Nothing changed.
    const g = (await h.call('GET', '/api/enrollmentGroups/existing')).json() as { enabled: boolean };
    assert.equal(g.enabled, true);
    expectError(await h.call('GET', '/api/enrollmentGroups/op'), 404, 'ERR_GROUP_NOT_FOUND');
  });

  it('the organization roles are treated like Operator', async () => {
    assert.equal((await h.call('GET', '/api/enrollmentGroups', undefined, orgViewer)).statusCode, 200);
    expectError(await h.call('PUT', '/api/enrollmentGroups/ov', GROUP, orgViewer), 403, 'ERR_FORBIDDEN');
  });

  it('only Administrators manage API tokens, reads included', async () => {
    for (const auth of [operator, builder]) {
      expectError(
        await h.call('GET', '/api/apiTokens', undefined, auth),
        403,
        'ERR_FORBIDDEN',
        /Administrator/,
      );
      expectError(await h.call('GET', '/api/apiTokens/operator', undefined, auth), 403, 'ERR_FORBIDDEN');
      expectError(
        await h.call('PUT', '/api/apiTokens/escalate', { roles: [{ role: ADMINISTRATOR }] }, auth),
        403,
        'ERR_FORBIDDEN',
      );
      expectError(await h.call('DELETE', '/api/apiTokens/admin', undefined, auth), 403, 'ERR_FORBIDDEN');
    }
    expectError(await h.call('GET', '/api/apiTokens/escalate'), 404, 'ERR_API_TOKEN_NOT_FOUND');
    assert.equal((await h.call('GET', '/api/apiTokens')).statusCode, 200);
  });

  it('Builder changes everything else', async () => {
    assert.equal((await h.call('PUT', '/api/enrollmentGroups/by-builder', GROUP, builder)).statusCode, 200);
    assert.equal(
      (await h.call('PATCH', '/api/enrollmentGroups/by-builder', { displayName: 'B' }, builder)).statusCode,
      200,
    );
    assert.equal(
      (await h.call('DELETE', '/api/enrollmentGroups/by-builder', undefined, builder)).statusCode,
      204,
    );
  });

  it('a token whose roles are all unknown may do nothing', async () => {
    await h.db
      .insertInto('api_tokens')
      .values({
        id: 'roleless',
        secret_hash: createHash('sha256').update('roleless-secret-0123456789').digest('hex'),
        roles: JSON.stringify([{ role: 'someday-role' }]),
        expiry: '2099-01-01T00:00:00.000Z',
        created_at: new Date().toISOString(),
      })
      .execute();
    expectError(
      await h.call('GET', '/api/enrollmentGroups', undefined, 'Bearer roleless-secret-0123456789'),
      403,
      'ERR_FORBIDDEN',
    );
  });

  it('GET /api/roles lists the built-in roles with their fixed IDs', async () => {
    const res = await h.call('GET', '/api/roles', undefined, operator);
    const roles = (res.json() as { value: Array<{ id: string; displayName: string }> }).value;
    assert.deepEqual(
      roles.map((r) => [r.displayName, r.id]),
      [
        ['Administrator', 'ca310b8d-2f4a-44e0-a36e-957c202cd8d4'],
        ['Builder', '344138e9-8de4-4497-8c54-5237e96d6aaf'],
        ['Operator', 'ae2c9854-393b-4f97-8c42-479d70ce626e'],
        ['Org Admin', 'c495eb57-eb18-489e-9802-62c474e5645c'],
        ['Org Operator', 'b4935647-30e4-4ed3-9074-dcac66c2f8ef'],
        ['Org Viewer', '84cc62c1-dabe-49d3-b16e-8b291232b285'],
      ],
    );
    const one = await h.call('GET', `/api/roles/${BUILDER}`, undefined, operator);
    assert.deepEqual(one.json(), { id: BUILDER, displayName: 'Builder' });
    expectError(
      await h.call('GET', '/api/roles/00000000-0000-0000-0000-000000000000'),
      404,
      'ERR_ROLE_NOT_FOUND',
    );
  });
});
