/**
 * Device groups over REST (EXPORT_RULES.md §5) against a real hub with MQTT devices: PUT, GET,
 * list, PATCH and DELETE, the devices a group's filter selects and the device list scoped to a
 * group, a filter that does not parse answered 400 naming the field, and operators reading
 * groups but not changing them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { expectError, OPERATOR } from './helpers/api-harness.js';
import type { ApiHubHarness } from './helpers/api-hub-harness.js';
import { jobsHub } from './helpers/jobs-fixtures.js';

describe('device groups and jobs over REST', () => {
  let h: ApiHubHarness;

  before(async () => {
    h = await jobsHub();
  });
  after(async () => h.close());

  describe('device groups', () => {
    it('PUT, GET, list, PATCH, the devices the filter selects, the device list scoped to a group', async () => {
      const got = await h.call('GET', '/api/deviceGroups/env');
      assert.equal(got.statusCode, 200);
      const group = got.json() as { id: string; displayName: string; filter: string; etag: string };
      assert.equal(group.id, 'env');
      assert.equal(group.displayName, 'Environmental sensors');
      assert.ok(group.etag);
      const list = (await h.call('GET', '/api/deviceGroups')).json() as { value: Array<{ id: string }> };
      assert.deepEqual(
        list.value.map((g) => g.id),
        ['env'],
      );
      const devices = (await h.call('GET', '/api/deviceGroups/env/devices')).json() as {
        value: Array<{ id: string }>;
      };
      assert.deepEqual(
        devices.value.map((d) => d.id),
        ['env-a', 'env-b', 'env-off'],
      );
      const scoped = (
        await h.call('GET', '/api/devices?deviceGroup=env&$filter=' + encodeURIComponent('connected eq true'))
      ).json() as {
        value: Array<{ id: string }>;
      };
      assert.deepEqual(
        scoped.value.map((d) => d.id),
        ['env-a', 'env-b'],
      );
      const patched = await h.call('PATCH', '/api/deviceGroups/env', { description: 'all of them' });
      assert.equal(patched.statusCode, 200);
      assert.equal((patched.json() as { description: string }).description, 'all of them');
      expectError(await h.call('GET', '/api/devices?deviceGroup=nope'), 404, 'ERR_DEVICE_GROUP_NOT_FOUND');
    });

    it('a filter that does not parse: 400 naming the field, the position and the token', async () => {
      const res = await h.call('PUT', '/api/deviceGroups/bad', {
        displayName: 'Bad',
        filter: 'SELECT * FROM devices WHERE $tmplate = "x"',
      });
      expectError(
        res,
        400,
        'ERR_DEVICE_QUERY_INVALID',
        "filter: unknown system field; use $id, $displayName, $template, $simulated, $provisioned, $enabled at position 29 ('$tmplate')",
      );
      expectError(
        await h.call('PUT', '/api/deviceGroups/bad', { filter: 'SELECT * FROM devices' }),
        400,
        'ERR_DEVICE_GROUP_INVALID',
        'displayName is required',
      );
      expectError(
        await h.call('PUT', '/api/deviceGroups/b%20d', { displayName: 'x', filter: 'SELECT * FROM devices' }),
        400,
        'ERR_INVALID_ID',
      );
      expectError(await h.call('GET', '/api/deviceGroups/bad'), 404, 'ERR_DEVICE_GROUP_NOT_FOUND');
    });

    it('operators read groups but do not change them; DELETE answers 204', async () => {
      const operator = await h.api.token('groups-operator', [OPERATOR]);
      assert.equal(
        (await h.call('GET', '/api/deviceGroups', undefined, `Bearer ${operator.secret}`)).statusCode,
        200,
      );
      expectError(
        await h.call(
          'PUT',
          '/api/deviceGroups/op',
          { displayName: 'x', filter: 'SELECT * FROM devices' },
          `Bearer ${operator.secret}`,
        ),
        403,
        'ERR_FORBIDDEN',
      );
      assert.equal(
        (await h.call('PUT', '/api/deviceGroups/gone', { displayName: 'x', filter: 'SELECT * FROM devices' }))
          .statusCode,
        200,
      );
      assert.equal((await h.call('DELETE', '/api/deviceGroups/gone')).statusCode, 204);
      expectError(await h.call('DELETE', '/api/deviceGroups/gone'), 404, 'ERR_DEVICE_GROUP_NOT_FOUND');
    });
  });
});
