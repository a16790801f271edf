import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api';
import { Badge, Dialog, EmptyState, FieldError, ago, ListTable } from '../components/ui';
import type { Device, DeviceTemplate } from '../devices/types';
import { idFrom, isActive, jobPath, jobTone, type DeviceGroup, type Job, type JobData } from '../jobs/types';
import { Link, navigate } from '../router';
import { useApiData } from '../use-api-data';
import { usePolling } from './JobPage';

/**
 * Jobs (EXPORT_RULES.md §5.2): the jobs of the last 30 days with their live progress (polled
 * while one runs), and a New dialog over a device group: set properties, set cloud properties or
 * run a command, optionally in batches. `/jobs?group=<id>` opens the dialog for that group.
 */
export function Jobs() {
  const jobs = useApiData(() => api<{ value: Job[] }>('GET', '/api/jobs').then((r) => r.value), 'jobs');
  const initialGroup = new URLSearchParams(location.search).get('group') ?? undefined;
  const [creating, setCreating] = useState(initialGroup !== undefined);
  const active = (jobs.data ?? []).some(isActive);
  usePolling(active, jobs.reload);

  return (
    <section>
      <div className="page-header">
        <h1>Jobs</h1>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          New job
        </button>
      </div>
      <FieldError error={jobs.error} />
      {jobs.data === undefined && jobs.error === null && <p className="muted">Loading…</p>}
      <ListTable
        label="Jobs"
        rows={jobs.data}
        columns={['Name', 'Group', 'Status', 'Progress', 'Started']}
        empty={
          <EmptyState title="No jobs yet">
            <p>
              A job sets a property or runs a command on every device of a{' '}
              <Link to="/device-groups">device group</Link>, in batches if you like; at most 5 run at once and
              they are kept 30 days.
            </p>
          </EmptyState>
        }
      >
        {(j) => {
          const s = jobTone(j.status);
          return (
            <tr key={j.id} data-testid={`job-row-${j.id}`}>
              <td>
                <Link to={`/jobs/${encodeURIComponent(j.id)}`}>{j.displayName ?? j.id}</Link>
              </td>
              <td>{j.group}</td>
              <td>
                <Badge tone={s.tone}>{s.label}</Badge>
              </td>
              <td>
                {j.progress.completed} completed, {j.progress.failed} failed, {j.progress.pending} pending of{' '}
                {j.progress.total}
              </td>
              <td>{ago(j.start ?? null)}</td>
            </tr>
          );
        }}
      </ListTable>
      {creating && (
        <NewJob
          {...(initialGroup !== undefined ? { initialGroup } : {})}
          onClose={() => setCreating(false)}
          onCreated={(j) => {
            setCreating(false);
            navigate(`/jobs/${encodeURIComponent(j.id)}`);
          }}
        />
      )}
    </section>
  );
}

type Kind = JobData['type'];

function NewJob({
  initialGroup,
  onClose,
  onCreated,
}: {
  initialGroup?: string;
  onClose: () => void;
  onCreated: (j: Job) => void;
}) {
  const groups = useApiData(
    () => api<{ value: DeviceGroup[] }>('GET', '/api/deviceGroups').then((r) => r.value),
    'deviceGroups',
  );
  const templates = useApiData(
    () => api<{ value: DeviceTemplate[] }>('GET', '/api/deviceTemplates').then((r) => r.value),
    'templates',
  );
  const [name, setName] = useState('');
  const [group, setGroup] = useState(initialGroup ?? '');
  const [kind, setKind] = useState<Kind>('property');
  const [template, setTemplate] = useState('');
  const [path, setPath] = useState('');
  const [value, setValue] = useState('');
  const [batch, setBatch] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // The group's devices decide the template when they share one (IoT Central groups have one).
  useEffect(() => {
    if (group === '') return;
    let stale = false;
    void api<{ value: Device[] }>('GET', `/api/deviceGroups/${encodeURIComponent(group)}/devices`)
      .then((r) => {
        const found = [
          ...new Set(r.value.map((d) => d.template).filter((t): t is string => t !== undefined)),
        ];
        if (!stale && found.length === 1) setTemplate(found[0]!);
      })
      .catch(() => undefined);
    return () => {
      stale = true;
    };
  }, [group]);

  const summary = (templates.data ?? []).find((t) => t['@id'] === template)?.summary;
  const paths = useMemo(() => {
    if (!summary) return [];
    const full = (x: { component?: string; name: string }) =>
      x.component ? `${x.component}.${x.name}` : x.name;
    if (kind === 'command') return summary.commands.map((c) => ({ path: full(c), label: c.displayName }));
    return summary.properties
      .filter((p) => (kind === 'cloudProperty' ? p.cloud === true : p.writable && p.cloud !== true))
      .map((p) => ({ path: full(p), label: p.displayName }));
  }, [summary, kind]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      let parsed: unknown = value;
      try {
        parsed = value.trim() === '' ? undefined : (JSON.parse(value) as unknown);
      } catch {
        // Not JSON: sent as text.
      }
      const data: Record<string, unknown> = { type: kind, target: template, path };
      if (parsed !== undefined) data['value'] = parsed;
      const amount = /^(\d+)(%?)$/.exec(batch.trim());
      const id = idFrom(name === '' ? path || 'job' : name);
      const created = await api<Job>('PUT', jobPath(id), {
        group,
        data: [data],
        ...(name.trim() !== '' ? { displayName: name.trim() } : {}),
        ...(amount ? { batch: { type: amount[2] ? 'percentage' : 'number', value: Number(amount[1]) } } : {}),
      });
      onCreated(created);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="New job" onClose={onClose}>
      <form onSubmit={submit} aria-label="New job">
        <label>
          Name
          <input name="displayName" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </label>
        <label>
          Device group
          <select aria-label="Device group" value={group} onChange={(e) => setGroup(e.target.value)}>
            <option value="">Choose a group…</option>
            {(groups.data ?? []).map((g) => (
              <option key={g.id} value={g.id}>
                {g.displayName}
              </option>
            ))}
          </select>
        </label>
        <label>
          Job type
          <select
            aria-label="Job type"
            value={kind}
            onChange={(e) => (setKind(e.target.value as Kind), setPath(''))}
          >
            <option value="property">Property</option>
            <option value="cloudProperty">Cloud property</option>
            <option value="command">Command</option>
          </select>
        </label>
        <label>
          Device template
          <select
            aria-label="Device template"
            value={template}
            onChange={(e) => (setTemplate(e.target.value), setPath(''))}
          >
            <option value="">Choose a template…</option>
            {(templates.data ?? []).map((t) => (
              <option key={t['@id']} value={t['@id']}>
                {t.displayName}
              </option>
            ))}
          </select>
        </label>
        <label>
          {kind === 'command' ? 'Command' : 'Property'}
          <select
            aria-label={kind === 'command' ? 'Command' : 'Property'}
            value={path}
            onChange={(e) => setPath(e.target.value)}
          >
            <option value="">Choose…</option>
            {paths.map((p) => (
              <option key={p.path} value={p.path}>
                {p.label} ({p.path})
              </option>
            ))}
          </select>
        </label>
        <label>
          {kind === 'command' ? 'Request payload' : 'Value'}
          <input
            name="value"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            placeholder="JSON, or text"
          />
        </label>
        <label>
          Batches (optional)
          <input
            name="batch"
            value={batch}
            onChange={(e) => setBatch(e.target.value)}
            placeholder="10 devices, or 25%"
          />
        </label>
        <FieldError error={error} />
        <div className="row">
          <button type="submit" className="primary" disabled={busy}>
            Run job
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
