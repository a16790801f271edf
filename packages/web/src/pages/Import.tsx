import { useState } from 'react';
import { api, ApiError, messageOf } from '../api';
import { Badge, FieldError } from '../components/ui';
import { Link } from '../router';

/** The plan `POST /api/imports` answers (server `import/plan.ts`). */
interface PlanItem {
  action: 'created' | 'updated' | 'unchanged' | 'refused';
  kind: string;
  id?: string;
  file?: string;
  line?: number;
  code?: string;
  reason?: string;
  notes?: string[];
}

interface ImportPlan {
  dryRun: boolean;
  applied: boolean;
  idScope: string;
  items: PlanItem[];
  summary: Record<PlanItem['action'], number>;
}

const FORMATS = [
  { value: 'hub', label: 'IoT Hub device identities (az iot hub device-identity export / list / show)' },
  {
    value: 'dps',
    label: 'DPS enrollment groups and enrollments (az iot dps enrollment-group / enrollment … --show-keys)',
  },
  { value: 'central', label: 'IoT Central device templates, devices, enrollment groups (REST API answers)' },
];

const TONE = { created: 'ok', updated: 'warn', unchanged: 'muted', refused: 'bad' } as const;

/**
 * Administration → Import: upload an Azure export, check it (a dry run shows what would change
 * and every refused record with its file and line), then import it (all or nothing).
 */
export function Import() {
  const [format, setFormat] = useState('hub');
  const [files, setFiles] = useState<File[]>([]);
  const [idScope, setIdScope] = useState('');
  const [verified, setVerified] = useState(false);
  const [plan, setPlan] = useState<ImportPlan | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(dryRun: boolean) {
    setBusy(true);
    setError(null);
    try {
      const body = {
        format,
        files: await Promise.all(files.map(async (f) => ({ name: f.name, content: await f.text() }))),
        ...(idScope.trim() !== '' ? { idScope: idScope.trim() } : {}),
        ...(verified ? { verified: true } : {}),
      };
      setPlan(await api<ImportPlan>('POST', `/api/imports${dryRun ? '?dryRun=true' : ''}`, body));
    } catch (err) {
      // A refused import answers its plan in the error's details: show the refusals.
      const refused = err instanceof ApiError ? (err.details?.['plan'] as ImportPlan | undefined) : undefined;
      if (refused) setPlan(refused);
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }

  const checked = plan !== null && plan.dryRun && plan.summary.refused === 0;
  return (
    <section>
      <h1>Import from Azure</h1>
      <p className="muted">
        Devices keep their IDs, keys and ID scope; they change only the host name and the CA they trust.
        Nothing is imported unless every record is accepted. See <code>docs/migrate-from-azure.md</code> for
        the commands that write these files.
      </p>
      <form
        className="card"
        aria-label="Import files"
        onSubmit={(e) => {
          e.preventDefault();
          void run(true);
        }}
      >
        <div className="form-grid">
          <label>
            Format
            <select
              value={format}
              onChange={(e) => {
                setFormat(e.target.value);
                setPlan(null);
              }}
            >
              {FORMATS.map((f) => (
                <option key={f.value} value={f.value}>
                  {f.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Files
            <input
              type="file"
              multiple
              accept=".json,.jsonl,.txt,application/json"
              onChange={(e) => {
                setFiles(Array.from(e.target.files ?? []));
                setPlan(null);
              }}
            />
          </label>
          <label>
            Azure ID scope (optional)
            <input
              value={idScope}
              placeholder="0ne00ABC123"
              onChange={(e) => {
                setIdScope(e.target.value);
                setPlan(null);
              }}
            />
          </label>
        </div>
        {format === 'dps' && (
          <label className="row">
            <input
              type="checkbox"
              checked={verified}
              onChange={(e) => {
                setVerified(e.target.checked);
                setPlan(null);
              }}
            />
            The CA certificates were verified in Azure: import them as verified
          </label>
        )}
        <div className="row">
          <button type="submit" disabled={busy || files.length === 0}>
            Check (dry run)
          </button>
          <button type="button" disabled={busy || !checked} onClick={() => void run(false)}>
            Import
          </button>
        </div>
      </form>
      <FieldError error={error} />
      {plan !== null && <PlanView plan={plan} />}
    </section>
  );
}

function PlanView({ plan }: { plan: ImportPlan }) {
  const s = plan.summary;
  return (
    <>
      <p role="status">
        {plan.dryRun
          ? 'Dry run: nothing was changed. '
          : plan.applied
            ? 'Imported. '
            : 'Nothing was imported. '}
        {s.created} created, {s.updated} updated, {s.unchanged} unchanged, {s.refused} refused. ID scope{' '}
        <code>{plan.idScope}</code>.
        {plan.applied && (
          <>
            {' '}
            <Link to="/devices">See the devices</Link>.
          </>
        )}
      </p>
      <div className="table-wrap">
        <table aria-label="Import plan">
          <thead>
            <tr>
              <th>Action</th>
              <th>Kind</th>
              <th>ID</th>
              <th>Where</th>
              <th>Reason or note</th>
            </tr>
          </thead>
          <tbody>
            {plan.items.map((i, n) => (
              <tr key={n}>
                <td>
                  <Badge tone={TONE[i.action]}>{i.action}</Badge>
                </td>
                <td>{i.kind}</td>
                <td>
                  <code>{i.id ?? ''}</code>
                </td>
                <td>{i.file !== undefined ? `${i.file}:${i.line ?? 1}` : ''}</td>
                <td>{i.action === 'refused' ? `${i.code}: ${i.reason}` : (i.notes ?? []).join('; ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
