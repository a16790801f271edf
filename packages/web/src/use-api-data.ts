import { useCallback, useEffect, useRef, useState } from 'react';
import { messageOf } from './api';

/**
 * Load something from the API when a view opens (and again on `reload()`): the data, or the
 * server's message when the call was refused. `key` names what is loaded: a new key loads again,
 * and an answer that arrives after the key changed (a reload started by the previous view) is
 * dropped, so it never shows the previous thing under the new name.
 */
export function useApiData<T>(
  load: () => Promise<T>,
  key: string,
): {
  data: T | undefined;
  error: string | null;
  reload: () => Promise<void>;
  /** Change the loaded value in place (live updates); nothing happens before it loaded. */
  update: (change: (value: T) => T) => void;
} {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const current = useRef(key);
  current.current = key;
  const run = useCallback(load, [key]);
  const reload = useCallback(async () => {
    try {
      const value = await run();
      if (current.current !== key) return;
      setData(value);
      setError(null);
    } catch (err) {
      if (current.current !== key) return;
      setError(messageOf(err));
    }
  }, [run, key]);
  useEffect(() => {
    setData(undefined);
    void reload();
  }, [reload]);
  const update = useCallback((change: (value: T) => T) => {
    setData((value) => (value === undefined ? value : change(value)));
  }, []);
  return { data, error, reload, update };
}
