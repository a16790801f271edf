import { api } from '../api';
import { Link } from '../router';
import { Badge, EmptyState, FieldError } from '../components/ui';
import { useApiData } from '../use-api-data';
import { day, type CertificateInfo } from '../admin/types';

/**
 * Every uploaded CA and enrolled device certificate, soonest expiry first, so an
 * administrator sees what to renew before devices stop provisioning.
 */
export function Certificates() {
  const { data, error } = useApiData(
    () => api<{ value: CertificateInfo[] }>('GET', '/api/certificates').then((r) => r.value),
    'certificates',
  );
  const soon = data?.filter((c) => c.status === 'expiringSoon').length ?? 0;
  const expired = data?.filter((c) => c.status === 'expired').length ?? 0;
  const revoked = data?.filter((c) => c.revoked === true).length ?? 0;
  return (
    <section>
      <h1>Certificates</h1>
      <FieldError error={error} />
      {data !== undefined && data.length === 0 && (
        <EmptyState title="No certificates yet">
          Upload a CA certificate to an X.509 enrollment group on{' '}
          <Link to="/connection">Device connection</Link> (make one with{' '}
          <code>npx gatehouse cert root mytestrootcert</code>); it is listed here with its expiry date.
        </EmptyState>
      )}
      {data !== undefined && data.length > 0 && (
        <>
          {(soon > 0 || expired > 0 || revoked > 0) && (
            <p className="row" role="status">
              {revoked > 0 && <Badge tone="bad">{revoked} revoked</Badge>}
              {expired > 0 && <Badge tone="bad">{expired} expired</Badge>}
              {soon > 0 && <Badge tone="warn">{soon} expiring within 30 days</Badge>}
            </p>
          )}
          <div className="table-wrap">
            <table aria-label="Certificates">
              <thead>
                <tr>
                  <th>Subject</th>
                  <th>Owner</th>
                  <th>Entry</th>
                  <th>Expires</th>
                  <th>Days left</th>
                  <th>Status</th>
                </tr>
              </thead>
              <tbody>
                {data.map((c) => (
                  <tr key={`${c.kind}/${c.owner}/${c.entry}`} className={`cert-${c.status}`}>
                    <td>
                      {c.subject}
                      <div className="muted small">
                        <code>{c.sha1Thumbprint}</code>
                      </div>
                    </td>
                    <td>
                      <Link
                        to={
                          c.kind === 'enrollmentGroup'
                            ? `/connection/groups/${encodeURIComponent(c.owner)}`
                            : `/devices/${encodeURIComponent(c.owner)}`
                        }
                      >
                        {c.ownerDisplayName}
                      </Link>
                      <div className="muted small">
                        {c.kind === 'enrollmentGroup' ? 'Enrollment group' : 'Device'}
                      </div>
                    </td>
                    <td>{c.entry}</td>
                    <td>{day(c.notAfter)}</td>
                    <td>{c.daysLeft}</td>
                    <td>
                      <span className="row">
                        <StatusBadge status={c.status} />
                        {c.revoked === true && <Badge tone="bad">Revoked</Badge>}
                        {c.verified === true && <Badge tone="ok">Verified</Badge>}
                        {c.verified === false && <Badge tone="muted">Unverified</Badge>}
                      </span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

function StatusBadge({ status }: { status: CertificateInfo['status'] }) {
  if (status === 'expired') return <Badge tone="bad">Expired</Badge>;
  if (status === 'expiringSoon') return <Badge tone="warn">Expiring soon</Badge>;
  return <Badge tone="ok">Valid</Badge>;
}
