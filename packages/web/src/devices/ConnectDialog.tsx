import { useEffect, useState } from 'react';
import { api, ApiError, messageOf, toBase64 } from '../api';
import { CopyValue, Dialog, FieldError, FileField } from '../components/ui';
import { devicePath, type Attestation, type DeviceCredentials, type X509Info } from './types';

type AuthType = 'group' | 'individual';
type Method = 'x509' | 'symmetricKey';

/**
 * The device's Connect dialog (CENTRAL_API.md §4.2): ID scope and device ID; authentication
 * type Enrollment group (the SAS keys derived from SAS-IoT-Devices, GET …/credentials) or
 * Individual enrollment with method Certificates (X.509: primary/secondary PEM, answered with
 * thumbprints) or Shared access signature (primary/secondary keys, typed or generated), saved
 * with PUT …/attestation. The server's message shows beside the field it is about.
 */
export function ConnectDialog({ deviceId, onClose }: { deviceId: string; onClose: () => void }) {
  const [credentials, setCredentials] = useState<DeviceCredentials | undefined>(undefined);
  const [attestation, setAttestation] = useState<Attestation | null | undefined>(undefined);
  const [authType, setAuthType] = useState<AuthType>('group');
  const [method, setMethod] = useState<Method>('x509');
  const [loadError, setLoadError] = useState<string | null>(null);

  const load = async () => {
    try {
      setCredentials(await api<DeviceCredentials>('GET', devicePath(deviceId, '/credentials')));
      const a = await api<Attestation>('GET', devicePath(deviceId, '/attestation')).catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      });
      setAttestation(a);
      return a;
    } catch (err) {
      setLoadError(messageOf(err));
      return undefined;
    }
  };

  useEffect(() => {
    void load().then((a) => {
      if (a) {
        setAuthType('individual');
        setMethod(a.type);
      }
    });
    // Loaded once per device.
  }, [deviceId]);

  return (
    <Dialog title={`Connect ${deviceId}`} onClose={onClose}>
      <dl className="facts">
        <dt>ID scope</dt>
        <dd>{credentials ? <CopyValue value={credentials.idScope} testId="connect-id-scope" /> : '…'}</dd>
        <dt>Device ID</dt>
        <dd>
          <CopyValue value={deviceId} testId="connect-device-id" />
        </dd>
      </dl>
      <FieldError error={loadError} />
      <label>
        Authentication type
        <select value={authType} onChange={(e) => setAuthType(e.target.value as AuthType)}>
          <option value="group">Enrollment group</option>
          <option value="individual">Individual enrollment</option>
        </select>
      </label>
      {authType === 'group' && <GroupCredentials credentials={credentials} attestation={attestation} />}
      {authType === 'individual' && (
        <>
          <label>
            Authentication method
            <select value={method} onChange={(e) => setMethod(e.target.value as Method)}>
              <option value="x509">Certificates (X.509)</option>
              <option value="symmetricKey">Shared access signature (SAS)</option>
            </select>
          </label>
          {method === 'x509' ? (
            <X509Enrollment deviceId={deviceId} current={attestation} onSaved={(a) => setAttestation(a)} />
          ) : (
            <SasEnrollment deviceId={deviceId} current={attestation} onSaved={(a) => setAttestation(a)} />
          )}
          {attestation && (
            <RemoveEnrollment
              deviceId={deviceId}
              onRemoved={() => {
                setAttestation(null);
                void load();
              }}
            />
          )}
        </>
      )}
    </Dialog>
  );
}

function GroupCredentials({
  credentials,
  attestation,
}: {
  credentials: DeviceCredentials | undefined;
  attestation: Attestation | null | undefined;
}) {
  if (attestation) {
    return (
      <p className="note" role="note">
        This device has an individual enrollment, which overrides the groups. Remove it under Individual
        enrollment to connect through an enrollment group.
      </p>
    );
  }
  const keys = credentials?.symmetricKey;
  return (
    <div>
      {keys ? (
        <>
          <p className="muted">
            Keys of this device, derived from the <strong>SAS-IoT-Devices</strong> enrollment group key
            (HMAC-SHA256 of the device ID): the device provisions with them and no group key leaves the
            server.
          </p>
          <dl className="facts">
            <dt>Primary key</dt>
            <dd>
              <CopyValue value={keys.primaryKey} testId="connect-primary-key" />
            </dd>
            <dt>Secondary key</dt>
            <dd>
              <CopyValue value={keys.secondaryKey} testId="connect-secondary-key" />
            </dd>
          </dl>
        </>
      ) : (
        <p className="muted">No SAS enrollment group is enabled, so there are no derived keys to show.</p>
      )}
      <p className="muted small">
        With an X.509 enrollment group the device instead presents a certificate whose CN is the device ID,
        issued from the group&apos;s verified CA:{' '}
        <code>
          npx gatehouse cert device {'<device ID>'} {'<CA name>'}
        </code>
        .
      </p>
    </div>
  );
}

function Thumbprint({ label, info, testId }: { label: string; info: X509Info | undefined; testId: string }) {
  if (!info?.info) return null;
  return (
    <p className="thumbprint">
      {label} thumbprint (SHA-1) <CopyValue value={info.info.sha1Thumbprint} testId={testId} />
      {info.info.subject !== undefined && <span className="muted small"> {info.info.subject}</span>}
    </p>
  );
}

function X509Enrollment({
  deviceId,
  current,
  onSaved,
}: {
  deviceId: string;
  current: Attestation | null | undefined;
  onSaved: (a: Attestation) => void;
}) {
  const [primary, setPrimary] = useState<{ text: string; name: string } | null>(null);
  const [secondary, setSecondary] = useState<{ text: string; name: string } | null>(null);
  const [errors, setErrors] = useState<{ primary?: string; secondary?: string; form?: string }>({});
  const [busy, setBusy] = useState(false);
  const certs = current?.type === 'x509' ? current.x509.clientCertificates : undefined;

  const save = async () => {
    setErrors({});
    if (primary === null) {
      setErrors({ primary: 'Pick the primary certificate (a PEM or .cer file whose CN is the device ID).' });
      return;
    }
    setBusy(true);
    try {
      const a = await api<Attestation>('PUT', devicePath(deviceId, '/attestation'), {
        type: 'x509',
        x509: {
          clientCertificates: {
            primary: { certificate: toBase64(primary.text) },
            ...(secondary ? { secondary: { certificate: toBase64(secondary.text) } } : {}),
          },
        },
      });
      onSaved(a);
      setPrimary(null);
      setSecondary(null);
    } catch (err) {
      const message = messageOf(err);
      // The server names the certificate it refuses ('…secondary…'); the rest is the primary's.
      setErrors(/secondary/i.test(message) ? { secondary: message } : { primary: message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="enrollment" aria-label="Certificates (X.509)" role="group">
      <FileField
        label="Primary certificate"
        name="primary"
        onText={(text, name) => setPrimary({ text, name })}
      />
      {primary && <p className="muted small">Picked {primary.name}</p>}
      <FieldError error={errors.primary} />
      <Thumbprint label="Primary" info={certs?.primary} testId="primary-thumbprint" />
      <FileField
        label="Secondary certificate"
        name="secondary"
        onText={(text, name) => setSecondary({ text, name })}
      />
      {secondary && <p className="muted small">Picked {secondary.name}</p>}
      <FieldError error={errors.secondary} />
      <Thumbprint label="Secondary" info={certs?.secondary} testId="secondary-thumbprint" />
      <p className="muted small">
        A self-signed device certificate: <code>npx gatehouse cert device {deviceId}</code> writes{' '}
        <code>{deviceId}_cert.pem</code>.
      </p>
      <button type="button" className="primary" disabled={busy} onClick={() => void save()}>
        Save
      </button>
    </div>
  );
}

function generateKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(64));
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function SasEnrollment({
  deviceId,
  current,
  onSaved,
}: {
  deviceId: string;
  current: Attestation | null | undefined;
  onSaved: (a: Attestation) => void;
}) {
  const keys = current?.type === 'symmetricKey' ? current.symmetricKey : undefined;
  const [primaryKey, setPrimaryKey] = useState(keys?.primaryKey ?? '');
  const [secondaryKey, setSecondaryKey] = useState(keys?.secondaryKey ?? '');
  const [errors, setErrors] = useState<{ primary?: string; secondary?: string }>({});
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  const save = async () => {
    setErrors({});
    setSaved(false);
    setBusy(true);
    try {
      const a = await api<Attestation>('PUT', devicePath(deviceId, '/attestation'), {
        type: 'symmetricKey',
        symmetricKey: { primaryKey: primaryKey.trim(), secondaryKey: secondaryKey.trim() },
      });
      onSaved(a);
      setSaved(true);
    } catch (err) {
      const message = messageOf(err);
      setErrors(/secondaryKey/.test(message) ? { secondary: message } : { primary: message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="enrollment" aria-label="Shared access signature (SAS)" role="group">
      <label>
        Primary key
        <input value={primaryKey} onChange={(e) => setPrimaryKey(e.target.value)} autoComplete="off" />
      </label>
      <FieldError error={errors.primary} />
      <label>
        Secondary key
        <input value={secondaryKey} onChange={(e) => setSecondaryKey(e.target.value)} autoComplete="off" />
      </label>
      <FieldError error={errors.secondary} />
      <div className="row">
        <button
          type="button"
          onClick={() => {
            setPrimaryKey(generateKey());
            setSecondaryKey(generateKey());
          }}
        >
          Generate keys
        </button>
        <button type="button" className="primary" disabled={busy} onClick={() => void save()}>
          Save
        </button>
        {saved && <span className="muted">Saved: the device provisions with either key.</span>}
      </div>
      {keys && (
        <dl className="facts">
          <dt>Primary key</dt>
          <dd>
            <CopyValue value={keys.primaryKey} />
          </dd>
          <dt>Secondary key</dt>
          <dd>
            <CopyValue value={keys.secondaryKey} />
          </dd>
        </dl>
      )}
    </div>
  );
}

function RemoveEnrollment({ deviceId, onRemoved }: { deviceId: string; onRemoved: () => void }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="row remove-enrollment">
      <button
        type="button"
        className="danger"
        onClick={async () => {
          try {
            await api('DELETE', devicePath(deviceId, '/attestation'));
            onRemoved();
          } catch (err) {
            setError(messageOf(err));
          }
        }}
      >
        Remove individual enrollment
      </button>
      <span className="muted small">The device then connects through the enrollment groups.</span>
      <FieldError error={error} />
    </div>
  );
}
