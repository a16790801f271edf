import { useCallback, useEffect, useState } from 'react';
import { api, messageOf } from '../api';
import { appendPoints, type Point } from './telemetry';
import { devicePath, type TelemetryMessage } from './types';

/** Messages kept in the browser per device (the Raw data view shows the newest of them). */
const MAX_MESSAGES = 2000;
/** History asked for when the page opens. */
const HISTORY_LIMIT = 1000;

export interface DeviceTelemetry {
  /** Oldest first. */
  messages: TelemetryMessage[];
  /** Numeric points per field key (`name` or `component.name`). */
  points: Record<string, Point[]>;
  error: string | null;
  loaded: boolean;
  /** Feed a live telemetry event (from the device's event stream). */
  add: (m: TelemetryMessage) => void;
}

/**
 * A device's telemetry: the stored history (GET /api/devices/{id}/telemetry) with the live
 * events appended as they arrive. Live events that come before the history answers are kept,
 * and only history older than the first of them is put in front, so nothing shows twice.
 */
export function useDeviceTelemetry(deviceId: string): DeviceTelemetry {
  const [state, setState] = useState<{ messages: TelemetryMessage[]; points: Record<string, Point[]> }>({
    messages: [],
    points: {},
  });
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    setState({ messages: [], points: {} });
    setLoaded(false);
    setError(null);
    let cancelled = false;
    api<{ value: TelemetryMessage[] }>('GET', devicePath(deviceId, `/telemetry?limit=${HISTORY_LIMIT}`))
      .then(({ value }) => {
        if (cancelled) return;
        setState((s) => {
          const firstLive = s.messages[0]?.enqueuedTime;
          const older = firstLive === undefined ? value : value.filter((m) => m.enqueuedTime < firstLive);
          const messages = [...older, ...s.messages].slice(-MAX_MESSAGES);
          return { messages, points: appendPoints({}, messages) };
        });
        setLoaded(true);
      })
      .catch((err: unknown) => {
        if (!cancelled) {
          setError(messageOf(err));
          setLoaded(true);
        }
      });
    return () => {
      cancelled = true;
    };
  }, [deviceId]);

  const add = useCallback((m: TelemetryMessage) => {
    setState((s) => {
      const messages = s.messages.length >= MAX_MESSAGES ? [...s.messages.slice(1), m] : [...s.messages, m];
      return { messages, points: appendPoints(s.points, [m]) };
    });
  }, []);

  return { ...state, error, loaded, add };
}
