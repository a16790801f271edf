import { useState } from 'react';
import { api, messageOf, toBase64 } from '../api';
import { Link, navigate } from '../router';
import { Badge, CopyButton, CopyValue, Dialog, FieldError, FileField } from '../components/ui';
import { useApiData } from '../use-api-data';
import { RevocationPanel } from './RevocationPanel';
import {
  ATTESTATIONS,
  day,
  GROUP_TYPES,
  type CertificateEntryName,
  type EnrollmentGroup,
  type SigningCertificate,
} from '../admin/types';

/**
 * One enrollment group: for X.509 the primary and secondary CA certificates with
 * their proof of possession (upload, verification code, verify); for SAS the
 * group keys; enable/disable and delete.
 */
export function GroupPage({ id }: { id: string }) {
  const path = `/api/enrollmentGroups/${encodeURIComponent(id)}`;
  const { data: group, error, reload } = useApiData(() => api<EnrollmentGroup>('GET', path), path);
  const [actionError, setActionError] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);

  if (group === undefined) {
    return (
      <section>
        <p>
          <Link to="/connection">← Device connection</Link>
        </p>
        <h1>Enrollment group {id}</h1>
        <FieldError error={error} />
      </section>
    );
  }

  const setEnabled = async (enabled: boolean) => {
    setActionError(null);
    try {
      await api('PATCH', path, { enabled });
      await reload();
    } catch (err) {
      setActionError(messageOf(err));
    }
  };
  const remove = async () => {
    try {
      await api('DELETE', path);
      navigate('/connection');
    } catch (err) {
      setConfirmDelete(false);
      setActionError(messageOf(err));
    }
  };

  return (
    <section>
      <p>
        <Link to="/connection">← Device connection</Link>
      </p>
      <div className="page-header">
        <h1>{group.displayName}</h1>
        <div className="row">
          <label className="inline switch">
            <input
              type="checkbox"
              role="switch"
              checked={group.enabled}
              onChange={(e) => void setEnabled(e.target.checked)}
            />
            Enabled
          </label>
          <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
            Delete group
          </button>
        </div>
      </div>
      <p className="row">
        <Badge tone="info">{GROUP_TYPES[group.type]}</Badge>
        <Badge tone="info">{ATTESTATIONS[group.attestation.type]}</Badge>
        {group.enabled ? <Badge tone="ok">Enabled</Badge> : <Badge tone="muted">Disabled</Badge>}
        <span className="muted">
          ID <code>{group.id}</code>, ID scope <code>{group.idScope}</code>
        </span>
      </p>
      <FieldError error={actionError} />

      {group.attestation.type === 'x509' ? (
        <>
          <div className="grid">
            {(['primary', 'secondary'] as const).map((entry) => (
              <CertificatePanel
                key={entry}
                groupId={group.id}
                entry={entry}
                certificate={
                  group.attestation.type === 'x509'
                    ? group.attestation.x509.signingCertificates[entry]
                    : undefined
                }
                onChanged={reload}
              />
            ))}
          </div>
          <RevocationPanel group={group} onChanged={reload} />
        </>
      ) : (
        <SasKeys keys={group.attestation.symmetricKey} />
      )}

      {confirmDelete && (
        <Dialog title="Delete enrollment group" onClose={() => setConfirmDelete(false)}>
          <p>
            Delete <strong>{group.displayName}</strong>? Devices already registered keep their identity; new
            devices can no longer provision through this group.
          </p>
          <div className="row">
            <button type="button" className="danger" onClick={() => void remove()}>
              Delete
            </button>
            <button type="button" onClick={() => setConfirmDelete(false)}>
              Cancel
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}

/** The CN of a subject such as `CN=mytestrootcert, O=…`: the CLI's file prefix. */
function commonName(subject: string): string | undefined {
  return /(?:^|[,/]\s*)CN=([^,/]+)/.exec(subject)?.[1]?.trim();
}

function CertificatePanel({
  groupId,
  entry,
  certificate,
  onChanged,
}: {
  groupId: string;
  entry: CertificateEntryName;
  certificate: SigningCertificate | undefined;
  onChanged: () => Promise<void>;
}) {
  const base = `/api/enrollmentGroups/${encodeURIComponent(groupId)}/certificates/${entry}`;
  const [uploadError, setUploadError] = useState<string | null>(null);
  const [verifyError, setVerifyError] = useState<string | null>(null);
  const [code, setCode] = useState<string | null>(null);
  const [fileName, setFileName] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const upload = async (pem: string, name: string) => {
    setUploadError(null);
    setBusy(true);
    try {
      await api('PUT', base, { certificate: toBase64(pem) });
      setFileName(name);
      setCode(null);
      await onChanged();
    } catch (err) {
      setUploadError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  const generate = async () => {
    setVerifyError(null);
    try {
      const r = await api<{ verificationCode: string }>('POST', `${base}/generateVerificationCode`);
      setCode(r.verificationCode);
    } catch (err) {
      setVerifyError(messageOf(err));
    }
  };
  const verify = async (pem: string) => {
    setVerifyError(null);
    setBusy(true);
    try {
      await api('POST', `${base}/verify`, { certificate: toBase64(pem) });
      setCode(null);
      await onChanged();
    } catch (err) {
      setVerifyError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    setUploadError(null);
    try {
      await api('DELETE', base);
      setCode(null);
      await onChanged();
    } catch (err) {
      setUploadError(messageOf(err));
    }
  };

  // The CLI names its files after the CA: <name>_cert.pem and <name>_key.pem.
  const prefix =
    fileName?.replace(/(_cert|_fullchain)?\.(pem|cer|crt)$/i, '') ??
    (certificate ? commonName(certificate.info.subject) : undefined) ??
    '<file>';
  const command = code
    ? `npx gatehouse cert verification --ca ${prefix}_cert.pem --key ${prefix}_key.pem --nonce ${code}`
    : '';
  const title = entry === 'primary' ? 'Manage primary' : 'Manage secondary';

  return (
    <section className="card" aria-label={title}>
      <h2>{title}</h2>
      {certificate === undefined ? (
        <p className="muted">
          No {entry} certificate. Upload the root or intermediate CA that signs your devices, e.g. the{' '}
          <code>mytestrootcert_cert.pem</code> made by <code>npx gatehouse cert root mytestrootcert</code>.
        </p>
      ) : (
        <dl className="facts">
          <dt>Subject</dt>
          <dd>{certificate.info.subject}</dd>
          <dt>Thumbprint</dt>
          <dd>
            <code data-testid={`thumbprint-${entry}`}>{certificate.info.sha1Thumbprint}</code>
          </dd>
          <dt>Expires</dt>
          <dd>{day(certificate.info.notAfter)}</dd>
          <dt>Status</dt>
          <dd>
            {certificate.verified ? <Badge tone="ok">Verified</Badge> : <Badge tone="warn">Unverified</Badge>}
          </dd>
        </dl>
      )}
      <FileField
        label={
          certificate
            ? `Replace ${entry} certificate (.pem, .cer)`
            : `Upload ${entry} certificate (.pem, .cer)`
        }
        name={`${entry}-certificate`}
        onText={(text, name) => void upload(text, name)}
      />
      <FieldError error={uploadError} />

      {certificate !== undefined && !certificate.verified && (
        <div className="verify-steps">
          <h3>Verify that you hold its key</h3>
          <button type="button" onClick={() => void generate()} disabled={busy}>
            Generate verification code
          </button>
          {code !== null && (
            <>
              <p>
                Verification code: <CopyValue value={code} testId={`verification-code-${entry}`} />
              </p>
              <p className="muted">Make the verification certificate with the CA's key:</p>
              <pre data-testid={`verification-command-${entry}`}>{command}</pre>
              <CopyButton text={command} label="Copy command" />
              <FileField
                label="Verify: upload verification_cert.pem"
                name={`${entry}-verification`}
                onText={(text) => void verify(text)}
              />
            </>
          )}
          <FieldError error={verifyError} />
        </div>
      )}
      {certificate !== undefined && (
        <button type="button" className="danger" onClick={() => void remove()}>
          Remove {entry} certificate
        </button>
      )}
    </section>
  );
}

function SasKeys({ keys }: { keys: { primaryKey: string; secondaryKey: string } }) {
  const [shown, setShown] = useState(false);
  return (
    <section className="card" aria-label="Shared access signature keys">
      <div className="page-header">
        <h2>Shared access signature (SAS)</h2>
        <button type="button" onClick={() => setShown(!shown)}>
          {shown ? 'Hide keys' : 'Show keys'}
        </button>
      </div>
      <p className="muted">
        Devices derive their own key from the group key and their registration ID (
        <code>npx gatehouse keys derive</code>).
      </p>
      <dl className="facts">
        <dt>Primary key</dt>
        <dd>
          {shown ? <CopyValue value={keys.primaryKey} testId="primary-key" /> : <code>••••••••••••</code>}
        </dd>
        <dt>Secondary key</dt>
        <dd>
          {shown ? <CopyValue value={keys.secondaryKey} testId="secondary-key" /> : <code>••••••••••••</code>}
        </dd>
      </dl>
    </section>
  );
}
