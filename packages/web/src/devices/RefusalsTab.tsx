import { useEffect, useState } from 'react';
import { api, messageOf } from '../api';
import { EmptyState, FieldError, ago } from '../components/ui';
import type { ProvisioningAttempt } from './types';

/** How often the list refreshes while it is open: refusals have no live event. */
const REFRESH_MS = 5000;

/**
 * Provisioning attempts refused for this registration ID (GET /api/provisioning/attempts):
 * the device itself only ever sees an opaque 401002, so this is where the operator reads
 * the reason (the stable code, the sentence) and what to do about it.
 */
export function RefusalsTab({ deviceId }: { deviceId: string }) {
  const [attempts, setAttempts] = useState<ProvisioningAttempt[] | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let cancelled = false;
    api<{ value: ProvisioningAttempt[] }>(
      'GET',
      `/api/provisioning/attempts?registrationId=${encodeURIComponent(deviceId)}&limit=50`,
    )
      .then((r) => {
        if (cancelled) return;
        setAttempts(r.value);
        setError(null);
      })
      .catch((err: unknown) => !cancelled && setError(messageOf(err)));
    const timer = setTimeout(() => setTick((t) => t + 1), REFRESH_MS);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [deviceId, tick]);

  return (
    <div>
      <div className="row spread">
        <p className="muted">
          Refused provisioning attempts with the registration ID <code>{deviceId}</code>, newest first.
        </p>
        <button type="button" onClick={() => setTick((t) => t + 1)}>
          Refresh
        </button>
      </div>
      <FieldError error={error} />
      {attempts !== undefined && attempts.length === 0 && (
        <EmptyState title="No refused attempts">
          When the provisioning service refuses this device (wrong key, a certificate nobody enrolled or
          verified), the reason and the fix show here.
        </EmptyState>
      )}
      {attempts !== undefined && attempts.length > 0 && (
        <ul className="refusals" aria-label="Refused attempts">
          {attempts.map((a) => (
            <li key={a.id} className="card refusal">
              <div className="row spread">
                <code className="error-code">{a.reason.code}</code>
                <span className="muted" title={a.time}>
                  {ago(a.time)} · {a.transport}
                </span>
              </div>
              <p className="reason">{a.reason.message}</p>
              {a.reason.fix !== undefined && (
                <p className="fix">
                  <strong>Fix:</strong> {a.reason.fix}
                </p>
              )}
              {a.certificate && (
                <p className="muted small">
                  Certificate {a.certificate.subject ?? ''} (issuer {a.certificate.issuer ?? '?'}), SHA-1{' '}
                  <code>{a.certificate.sha1Thumbprint}</code>
                </p>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
