/**
 * What the data export (export/), its destinations and the audit log agree on, so each can be
 * built and tested on its own: a destination takes a batch of already-transformed messages
 * and resolves once the far side has accepted all of them; the audit log is read as a feed
 * in id order, like telemetry.
 */

/** A destination (webhook@v1, mqtt@v1, amqp@v1) after its configuration was checked. */
export interface DestinationAdapter {
  /**
   * Delivers `batch` in order (the JSON values the export produced, after its transform).
   * Resolves once the destination accepted every one; rejects with a {@link DeliveryError}
   * otherwise, and then the whole batch is sent again later (at least once).
   */
  send(batch: readonly unknown[], context: DeliveryContext): Promise<void>;
  /** Closes connections; pending sends reject. */
  close(): Promise<void>;
}

/** What a destination may use to route a message (topic templates, headers). */
export interface DeliveryContext {
  /** Per message of the batch: its device (absent for audit and template lifecycle) and source. */
  items: readonly { deviceId?: string; messageSource: string }[];
}

/** A failed delivery, in words a user can act on (shown as the destination's `errors`). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    /** True when trying again cannot help until the configuration changes (401, 404, bad TLS name). */
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** One field of a destination's or export's body that is wrong (a 400 names it). */
export interface FieldProblem {
  field: string;
  message: string;
}

/** A compiled jq program (the export's `transform`). */
export interface Transform {
  /** The program's outputs for one input (jq may output none or several). */
  apply(input: unknown): Promise<unknown[]>;
  close(): void;
}

/** One audit entry as the export reads it: its id (increasing) and IoT Central's message. */
export interface AuditFeedEntry {
  id: number;
  /** The exported message (messageSource 'audit'), without applicationId and enrichments. */
  message: Record<string, unknown>;
}

/** The audit log as a feed for the `audit` export source. */
export interface AuditFeed {
  /** Entries with id > afterId, oldest first, at most `limit`. */
  after(afterId: number, limit: number): Promise<AuditFeedEntry[]>;
}
