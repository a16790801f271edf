import { useEffect, useState } from 'react';
import { api, messageOf } from '../api';
import { Badge, EmptyState, FieldError, ListTable } from '../components/ui';
import { idFrom, isActive, jobPath, jobTone, type Job, type JobDevice } from '../jobs/types';
import { Link, navigate } from '../router';
import { useApiData } from '../use-api-data';

/** Reloads every `ms` while `active` (a job's progress changes on the server by itself). */
export function usePolling(active: boolean, reload: () => Promise<void>, ms = 1000): void {
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => void reload(), ms);
    return () => clearInterval(timer);
  }, [active, reload, ms]);
}

/**
 * One job: status, live progress, each device's status (and why it failed), and Stop, Resume and
 * Rerun on failed devices. Progress is polled every second while the job runs; a property job's
 * pending devices keep being polled slowly after it ends, since they complete when they
 * acknowledge.
 */
export function JobPage({ id }: { id: string }) {
  const job = useApiData(() => api<Job>('GET', jobPath(id)), `job:${id}`);
  const devices = useApiData(
    () => api<{ value: JobDevice[] }>('GET', `${jobPath(id)}/devices`).then((r) => r.value),
    `job-devices:${id}`,
  );
  const [error, setError] = useState<string | null>(null);
  const j = job.data;
  const reloadBoth = async () => {
    await Promise.all([job.reload(), devices.reload()]);
  };
  usePolling(j !== undefined && isActive(j), reloadBoth);
  usePolling(j !== undefined && !isActive(j) && j.progress.pending > 0, reloadBoth, 5000);

  const act = async (what: () => Promise<unknown>) => {
    setError(null);
    try {
      await what();
      await reloadBoth();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  const s = j ? jobTone(j.status) : undefined;
  const done = j ? j.progress.completed + j.progress.failed : 0;
  return (
    <section>
      <p>
        <Link to="/jobs">← Jobs</Link>
      </p>
      <FieldError error={job.error ?? error} />
      {j && s && (
        <>
          <div className="page-header">
            <h1>{j.displayName ?? j.id}</h1>
            <div className="row">
              {isActive(j) && (
                <button type="button" onClick={() => void act(() => api('POST', `${jobPath(j.id)}/stop`))}>
                  Stop
                </button>
              )}
              {j.status === 'stopped' && (
                <button
                  type="button"
                  className="primary"
                  onClick={() => void act(() => api('POST', `${jobPath(j.id)}/resume`))}
                >
                  Resume
                </button>
              )}
              {!isActive(j) && j.progress.failed > 0 && (
                <button
                  type="button"
                  onClick={() =>
                    void act(async () => {
                      const rerun = await api<Job>(
                        'PUT',
                        `${jobPath(j.id)}/rerun/${encodeURIComponent(idFrom(`${j.id}-rerun`))}`,
                      );
                      navigate(`/jobs/${encodeURIComponent(rerun.id)}`);
                    })
                  }
                >
                  Rerun failed devices
                </button>
              )}
            </div>
          </div>
          <p>
            <Badge tone={s.tone}>
              <span data-testid="job-status">{s.label}</span>
            </Badge>{' '}
            Group <Link to={`/device-groups/${encodeURIComponent(j.group)}`}>{j.group}</Link>
            {j.rerunOf && (
              <>
                {' '}
                · rerun of <Link to={`/jobs/${encodeURIComponent(j.rerunOf)}`}>{j.rerunOf}</Link>
              </>
            )}
          </p>
          <p>
            {j.data
              .map(
                (d) =>
                  `${d.type === 'command' ? 'Run' : 'Set'} ${d.path}${d.value !== undefined ? ` = ${JSON.stringify(d.value)}` : ''}`,
              )
              .join('; ')}
          </p>
          <progress max={Math.max(j.progress.total, 1)} value={done} aria-label="Job progress" />
          <p data-testid="job-progress">
            {j.progress.completed} completed, {j.progress.failed} failed, {j.progress.pending} pending of{' '}
            {j.progress.total}
          </p>
        </>
      )}
      <h2>Devices</h2>
      <FieldError error={devices.error} />
      <ListTable
        label="Job devices"
        rows={devices.data}
        columns={['Device ID', 'Status', 'Details']}
        empty={<EmptyState title="The group selected no device when the job started" />}
      >
        {(d) => (
          <tr key={d.id} data-testid={`job-device-${d.id}`}>
            <td>
              <Link to={`/devices/${encodeURIComponent(d.id)}`}>{d.id}</Link>
            </td>
            <td>
              <Badge tone={d.status === 'completed' ? 'ok' : d.status === 'failed' ? 'bad' : 'info'}>
                {d.status === 'completed' ? 'Completed' : d.status === 'failed' ? 'Failed' : 'Pending'}
              </Badge>
            </td>
            <td>{d.message ?? ''}</td>
          </tr>
        )}
      </ListTable>
    </section>
  );
}
