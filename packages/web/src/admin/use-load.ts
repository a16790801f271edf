import { useCallback, useEffect, useState } from 'react';
import { messageOf } from '../api';

/**
 * Load something from the API when a page opens (and again on `reload()`):
 * the data, or the server's message when the call was refused.
 */
export function useLoad<T>(
  load: () => Promise<T>,
  key: string,
): {
  data: T | undefined;
  error: string | null;
  reload: () => Promise<void>;
} {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  // `key` names what is loaded: a new key loads again, a new closure alone does not.
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
  return { data, error, reload };
}
