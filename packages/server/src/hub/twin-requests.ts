/**
 * A connected device's twin requests (PROTOCOL.md §3.5): `GET` answers the twin document, a
 * reported patch answers 204 with the new version and is announced as `reportedProperties`.
 */
import { twinResponseTopic } from '@gatehouse/protocol';

import type { EventBus } from '../events/event-bus.js';
import type { HubSession } from './hub-session.js';
import { TwinPatchError, type TwinService } from './twins.js';

export interface TwinRequestsOptions {
  twins: TwinService;
  events: EventBus;
  now: () => Date;
}

export class TwinRequests {
  constructor(private readonly o: TwinRequestsOptions) {}

  /** `$iothub/twin/GET/?$rid={rid}`. */
  get(session: HubSession, rid: string): void {
    void this.o.twins.document(session.deviceId).then(
      (document) => this.reply(session, twinResponseTopic(200, rid), JSON.stringify(document)),
      (err: unknown) => this.twinFailure(session, rid, err),
    );
  }

  /** `$iothub/twin/PATCH/properties/reported/?$rid={rid}`. */
  patchReported(session: HubSession, rid: string, payload: Buffer): void {
    void this.o.twins.patchReported(session.deviceId, payload).then(
      ({ version, patch }) => {
        // §3.5: 204 with the new reported version and an empty body.
        this.reply(session, twinResponseTopic(204, rid, version), '');
        this.o.events.emit({
          type: 'reportedProperties',
          deviceId: session.deviceId,
          time: this.o.now().toISOString(),
          patch,
          version,
        });
      },
      (err: unknown) => this.twinFailure(session, rid, err),
    );
  }

  /**
   * Twin responses go to the live connection even without `$iothub/twin/res/#` in its current
   * subscription set (§3.9: the SDK does not re-subscribe it after a reconnect).
   */
  private reply(session: HubSession, topic: string, body: string): void {
    session.publish(topic, body, 0).catch((err: unknown) => {
      session.log.debug({ err, topic }, 'twin response not sent: connection closed');
    });
  }

  /** §3.5: the SDK reads only the body, so errors carry `errorCode`. */
  private twinFailure(session: HubSession, rid: string, err: unknown): void {
    if (err instanceof TwinPatchError) {
      session.log.info({ rid, reason: err.message }, 'twin request refused');
      this.reply(
        session,
        twinResponseTopic(400, rid),
        JSON.stringify({ errorCode: err.errorCode, message: err.message }),
      );
      return;
    }
    session.log.error({ err, rid }, 'twin request failed');
    this.reply(
      session,
      twinResponseTopic(500, rid),
      JSON.stringify({ errorCode: 500001, message: 'internal error, try again' }),
    );
  }
}
