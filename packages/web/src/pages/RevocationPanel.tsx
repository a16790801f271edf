import { useState } from 'react';
import { api, messageOf } from '../api';
import { FieldError } from '../components/ui';
import type { EnrollmentGroup } from '../admin/types';

/** The CRL as the API takes it in JSON: PEM text as is, DER as base64. */
async function crlField(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const text = new TextDecoder('latin1').decode(bytes);
  if (text.includes('-----BEGIN')) return text;
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/**
 * An X.509 group's revocation: upload the CRL of its CA (PEM or DER, as `openssl ca -gencrl`
 * writes it) and the certificates it revokes. Revoked certificates are refused at provisioning
 * and hub connect; their live sessions close at once.
 */
export function RevocationPanel({ group, onChanged }: { group: EnrollmentGroup; onChanged: () => unknown }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const revoked = group.revokedCertificates ?? [];
  const upload = async (file: File) => {
    setError(null);
    setBusy(true);
    try {
      await api('POST', `/api/enrollmentGroups/${encodeURIComponent(group.id)}/crl`, {
        crl: await crlField(file),
      });
      await onChanged();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-label="Revocation">
      <h2>Revoked certificates</h2>
      <p className="muted small">
        Upload the certificate revocation list of this group&apos;s CA (<code>openssl ca -gencrl</code>, or{' '}
        <code>gatehouse group crl {group.id} ca.crl</code>). Its signature and dates are checked; the
        certificates it lists are refused from then on and their devices disconnected.
      </p>
      <label className="file-field">
        Upload CRL
        <input
          type="file"
          name="crl"
          accept=".crl,.pem,.der"
          disabled={busy}
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void upload(file);
            e.target.value = '';
          }}
        />
      </label>
      <FieldError error={error} />
      {revoked.length === 0 ? (
        <p className="muted">No revoked certificates.</p>
      ) : (
        <div className="table-wrap">
          <table aria-label="Revoked certificates">
            <thead>
              <tr>
                <th>Serial number</th>
                <th>Issuer</th>
                <th>Revoked</th>
              </tr>
            </thead>
            <tbody>
              {revoked.map((r) => (
                <tr key={`${r.issuer}/${r.serialNumber}`}>
                  <td>
                    <code>{r.serialNumber}</code>
                  </td>
                  <td>{r.issuer}</td>
                  <td>{r.revocationDate.replace(/\.\d+Z$/, 'Z')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
