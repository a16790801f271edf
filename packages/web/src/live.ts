import { useEffect, useRef } from 'react';
import type { HubEvent } from '@gatehouse/server/rest-types';

/** An event of the server's live stream (`/api/events`): the server's own type. */
export type LiveEvent = HubEvent;

const TYPES = [
  'telemetry',
  'connected',
  'disconnected',
  'reportedProperties',
  'desiredProperties',
  'deviceChanged',
  'commandCompleted',
] as const;

/**
 * Subscribe to the server-sent events of the application, or of one device.
 * EventSource reconnects by itself and sends the session cookie like any
 * same-origin request (a GET: no anti-forgery header needed).
 */
export function useLiveEvents(onEvent: (event: LiveEvent) => void, deviceId?: string): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    const base =
      deviceId === undefined ? '/api/events' : `/api/devices/${encodeURIComponent(deviceId)}/events`;
    const source = new EventSource(base);
    // After a reconnect the server replays stored telemetry from a little before the last
    // event seen (Last-Event-ID); an id already handled is skipped. Only telemetry has ids
    // (EventSource repeats the last id on later events without one, so others are not checked).
    const seen = new Set<string>();
    const listener = (e: MessageEvent<string>) => {
      if (e.type === 'telemetry' && e.lastEventId !== '') {
        if (seen.has(e.lastEventId)) return;
        seen.add(e.lastEventId);
        if (seen.size > 5000) seen.delete(seen.values().next().value as string);
      }
      try {
        handler.current(JSON.parse(e.data) as LiveEvent);
      } catch {
        // A malformed event is skipped; the stream goes on.
      }
    };
    for (const type of TYPES) source.addEventListener(type, listener as EventListener);
    return () => source.close();
  }, [deviceId]);
}
