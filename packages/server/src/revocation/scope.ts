/**
 * Which live sessions a revocation can touch, so a sweep checks those again and not the whole
 * fleet (session-sweep.ts). Every scope is complete for its change: a session outside it passes
 * exactly as it did before.
 */
export type RevocationScope =
  /** The device's own credentials changed (individual enrollment replaced or removed). */
  | { kind: 'device'; deviceId: string }
  /** Certificates a CRL revokes, by issuer (the CA's subject) and serial number. */
  | { kind: 'certificates'; revoked: Array<{ issuer: string; serial: string }> }
  /**
   * A group disabled or deleted, or its CA removed or replaced: the devices provisioned through
   * it, and every session whose presented chain names one of the CAs (as issuer or subject) —
   * a chain reaches a CA only through its name.
   */
  | { kind: 'group'; groupId: string; caSubjects: string[] };
