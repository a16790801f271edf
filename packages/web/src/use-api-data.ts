import { useCallback, useEffect, useState } from 'react';
import { messageOf } from './api';

/**
 * Load something from the API when a view opens (and again on `reload()`): the data, or the
 * server's message when the call was refused. `key` names what is loaded: a new key loads again.
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
  const run = useCallback(load, [key]);
  const reload = useCallback(async () => {
    try {
      setData(await run());
      setError(null);
    } catch (err) {
      setError(messageOf(err));
    }
  }, [run]);
  useEffect(() => {
    setData(undefined);
    void reload();
  }, [reload]);
  const update = useCallback((change: (value: T) => T) => {
    setData((value) => (value === undefined ? value : change(value)));
  }, []);
  return { data, error, reload, update };
}
