import type { DpsRequestContext } from '../dps-handler.js';

/** Thumbprints of one X.509 credential, as the hub stores them. */
export interface ThumbprintPair {
  sha1: string;
  sha256: string;
}

/** How the hub device will authenticate after provisioning. */
export type DeviceAuthentication =
  | { type: 'x509Thumbprint'; primary: ThumbprintPair; secondary: ThumbprintPair }
  | { type: 'sas'; primaryKey: string; secondaryKey: string };

/** What a successful attestation proves: which device this is and through which enrollment. */
export interface AttestationOutcome {
  deviceId: string;
  enrollment: { kind: 'individual' } | { kind: 'group'; groupId: string };
  attestationType: 'x509' | 'symmetricKey';
  deviceAuth: DeviceAuthentication;
  /** Goes into `registrationState` as `x509` or `symmetricKey` (PROTOCOL.md §1.7). */
  registrationResult: Record<string, unknown>;
  /** Identifies the credential (leaf SHA-256 or key name) so an operation poll can be tied to it. */
  credential: string;
  /** Whether the device row existed when attestation read it, so the assignment need not read it again. */
  deviceExisted?: boolean;
}

/**
 * One way a device proves its identity to provisioning. Mechanisms register in
 * the registration service; the first whose `applies` is true decides.
 */
export interface AttestationMechanism {
  readonly type: 'x509' | 'symmetricKey';
  applies(ctx: DpsRequestContext): boolean;
  /** Resolves with the outcome or throws a GatehouseError with a DPS error code. */
  attest(ctx: DpsRequestContext): Promise<AttestationOutcome>;
  /** Cheap check that a later request on the same operation comes from the same credential. */
  sameCredential(ctx: DpsRequestContext, credential: string): boolean | Promise<boolean>;
}
