/**
 * Hub CONNECT authentication (PROTOCOL.md §3.1, §3.8, §7.2). The order of checks:
 * 1. the MQTT client identifier must be the username's device ID → else CONNACK 2;
 * 2. the device must exist and be enabled → else CONNACK 5 (disabling is the revocation
 *    mechanism, §7.2);
 * 3. the first authenticator that applies to what the client presented decides (X.509 now,
 *    SAS later) → else CONNACK 5.
 * Every refusal says why (the caller logs it at info); the device only sees the CONNACK code,
 * as on the real hub.
 */
import { readCertificate, validateChain, type Certificate } from '@gatehouse/pki';
import type { Kysely } from 'kysely';

import { CONNACK, type ConnackCode } from '../gateway/connack-codes.js';
import type { HubConnectIdentity } from '../gateway/gateway-options.js';
import type { DeviceRow } from '../provisioning/provisioning-store.js';
import type { Database } from '../store/schema.js';

export type AuthenticationResult =
  | { ok: true; device: DeviceRow; method: string }
  | {
      ok: false;
      code: Exclude<ConnackCode, 0>;
      reason: string;
      /** A stable code for the refusal records (revocation/errors.ts); absent = not authorized. */
      reasonCode?: string;
    };

/**
 * A check after the credentials proved who the device is: revocation (a disabled enrollment
 * group, a revoked certificate; revocation/connect-check.ts). `undefined` = passes.
 */
export interface ConnectCheck {
  check(
    device: DeviceRow,
    identity: HubConnectIdentity,
  ): Promise<{ reasonCode: string; reason: string } | undefined>;
}

/** One way a device proves who it is (STYLE.md: one file per way, a registry of them). */
export interface DeviceAuthenticator {
  readonly method: string;
  /** Whether the client presented this kind of credential. */
  applies(identity: HubConnectIdentity): boolean;
  /** `undefined` = authenticated; a string = the refusal reason. */
  authenticate(device: DeviceRow, identity: HubConnectIdentity): Promise<string | undefined>;
}

/** Thumbprints as stored and as Node prints them: compare upper-case, without colons. */
export function normalizeThumbprint(value: string | null | undefined): string {
  return (value ?? '').replace(/:/g, '').toUpperCase();
}

/**
 * X.509 (§7.2). selfSigned: the leaf's SHA-1 or SHA-256 thumbprint equals the device's primary
 * or secondary thumbprint; the chain is not checked (as on the hub). Otherwise
 * certificateAuthority: leaf + presented certificates validate to a *verified* group
 * certificate and the leaf CN equals the device ID. The second path also serves
 * group-provisioned devices whose leaf was renewed by the same CA, which DPS would accept for
 * the same device ID anyway. SAS devices may not use certificates.
 */
export class X509Authenticator implements DeviceAuthenticator {
  readonly method = 'x509';
  private readonly parsed = new Map<string, Certificate>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  applies(identity: HubConnectIdentity): boolean {
    return identity.peerCertificates.length > 0;
  }

  async authenticate(device: DeviceRow, identity: HubConnectIdentity): Promise<string | undefined> {
    const [leaf, ...presented] = identity.peerCertificates;
    if (!leaf) return 'no client certificate';
    if (device.auth_type === 'sas') return 'the device uses SAS authentication, not a certificate';
    const sha1 = normalizeThumbprint(leaf.sha1Thumbprint);
    const sha256 = normalizeThumbprint(leaf.sha256Thumbprint);
    const enrolled = [
      device.x509_primary_sha1,
      device.x509_primary_sha256,
      device.x509_secondary_sha1,
      device.x509_secondary_sha256,
    ]
      .map(normalizeThumbprint)
      .filter((t) => t !== '');
    if (enrolled.includes(sha1) || enrolled.includes(sha256)) return undefined;

    if ((leaf.subjectCN ?? '') !== device.id) {
      return `certificate thumbprint ${sha1} does not match the device and its CN '${leaf.subjectCN ?? ''}' is not the device ID`;
    }
    const anchors = await this.verifiedCas();
    if (anchors.length === 0) {
      return `certificate thumbprint ${sha1} does not match the device and no verified CA certificate exists`;
    }
    try {
      validateChain({ leaf, presented, anchors, time: this.now() });
      return undefined;
    } catch (err) {
      return `certificate thumbprint ${sha1} does not match the device and its chain does not reach a verified CA: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  private async verifiedCas(): Promise<Certificate[]> {
    const rows = await this.db
      .selectFrom('group_certificates as c')
      .innerJoin('enrollment_groups as g', 'g.id', 'c.group_id')
      .select(['c.pem', 'c.sha256'])
      .where('g.attestation_type', '=', 'x509')
      .where('c.verified', '=', 1)
      // A disabled group's CA no longer vouches for anyone (revocation cascades to the devices
      // it issued, provisioned before or not).
      .where('g.enabled', '=', 1)
      .execute();
    const result: Certificate[] = [];
    for (const row of rows) {
      let cert = this.parsed.get(row.sha256);
      if (!cert) {
        cert = readCertificate(row.pem);
        this.parsed.set(row.sha256, cert);
      }
      result.push(cert);
    }
    return result;
  }
}

export class DeviceAuthentication {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly authenticators: DeviceAuthenticator[],
    private readonly checks: readonly ConnectCheck[] = [],
  ) {}

  async authenticate(clientId: string, identity: HubConnectIdentity): Promise<AuthenticationResult> {
    const { deviceId, moduleId } = identity.username;
    // §3.1: clientId = deviceId (modules: deviceId/moduleId).
    const expected = moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
    if (clientId !== expected) {
      return {
        ok: false,
        code: CONNACK.IDENTIFIER_REJECTED,
        reason: `client id '${clientId}' is not the device ID '${expected}' of the username`,
      };
    }
    if (moduleId !== undefined) {
      return { ok: false, code: CONNACK.NOT_AUTHORIZED, reason: 'module identities are not supported' };
    }
    const device = await this.db
      .selectFrom('devices')
      .selectAll()
      .where('id', '=', deviceId)
      .executeTakeFirst();
    if (!device) return { ok: false, code: CONNACK.NOT_AUTHORIZED, reason: 'unknown device' };
    if (device.enabled !== 1)
      return {
        ok: false,
        code: CONNACK.NOT_AUTHORIZED,
        reason: 'device is disabled',
        reasonCode: 'ERR_HUB_DEVICE_DISABLED',
      };
    const authenticator = this.authenticators.find((a) => a.applies(identity));
    if (!authenticator) {
      return {
        ok: false,
        code: CONNACK.NOT_AUTHORIZED,
        reason:
          identity.password !== undefined
            ? 'a SAS token was presented, but no SAS authenticator is configured'
            : 'no credentials: neither a client certificate nor a SAS token',
      };
    }
    const refusal = await authenticator.authenticate(device, identity);
    if (refusal !== undefined) {
      return { ok: false, code: CONNACK.NOT_AUTHORIZED, reason: `${authenticator.method}: ${refusal}` };
    }
    for (const check of this.checks) {
      const failed = await check.check(device, identity);
      if (failed) return { ok: false, code: CONNACK.NOT_AUTHORIZED, ...failed };
    }
    return { ok: true, device, method: authenticator.method };
  }
}
