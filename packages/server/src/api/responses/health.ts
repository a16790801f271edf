/**
 * Response schemas of `/healthz`, `/readyz` (lifecycle/readiness.ts `ReadinessReport`) and
 * `/metrics`. Their 503 answers are not the error body, so they are documented too.
 */
import { arr, bool, map, obj, str, strEnum, text } from './common.js';

/** `GET /healthz` 200: `status: 'ok'` and the extra fields of the `health` dependency. */
export const HEALTH_OK = obj({ status: strEnum('ok') });

/** `GET /healthz` 503: the `health` dependency threw. */
export const HEALTH_UNAVAILABLE = obj({ status: strEnum('unavailable') });

const CHECK_RESULT = obj({ ok: bool }, { error: str });

/** `GET /readyz` 200. */
export const READY = obj({ status: strEnum('ready'), checks: map(CHECK_RESULT) });

/** `GET /readyz` 503: the failing checks, or the node is shutting down. */
export const NOT_READY = {
  oneOf: [
    obj({ status: strEnum('unready'), checks: map(CHECK_RESULT), failing: arr(str) }),
    obj({ status: strEnum('draining') }),
  ],
};

/** `GET /metrics`: the Prometheus text exposition, not JSON. */
export const METRICS_TEXT = text(
  'text/plain; version=0.0.4; charset=utf-8',
  'Prometheus text exposition format',
);
