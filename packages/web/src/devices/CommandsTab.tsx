import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, messageOf } from '../api';
import { Badge, EmptyState, FieldError, ago } from '../components/ui';
import { devicePath, type CommandInfo, type DeviceCommand, type DeviceTemplate } from './types';

/**
 * The Commands view (CENTRAL_API.md §6): a card per template command with a JSON payload
 * editor (the request schema as a hint), Run, the device's answer and the command's history.
 * A payload that is not JSON is refused here, beside the field, and nothing is sent.
 * `tick` changes on a commandCompleted event: the histories reload.
 */
export function CommandsTab({
  deviceId,
  template,
  tick,
}: {
  deviceId: string;
  template: DeviceTemplate | null | undefined;
  tick: number;
}) {
  const commands = template?.summary.commands ?? [];
  return (
    <div>
      {template === null && (
        <p className="note" role="note">
          No template: assign one to list its commands. Any direct method can still be run by name below.
        </p>
      )}
      {template !== null && template !== undefined && commands.length === 0 && (
        <EmptyState title="This template has no commands">
          Add a <code>Command</code> to the template&apos;s interface to run it from here.
        </EmptyState>
      )}
      <div className="command-grid">
        {commands.map((c) => (
          <CommandCard key={`${c.component ?? ''}*${c.name}`} deviceId={deviceId} command={c} tick={tick} />
        ))}
        {template === null && <CommandCard deviceId={deviceId} tick={tick} />}
      </div>
    </div>
  );
}

function schemaHint(schema: unknown): string {
  if (typeof schema === 'string') return schema;
  return JSON.stringify(schema);
}

/** An example payload for a request schema, so the editor starts with something valid. */
function example(schema: unknown): string {
  if (schema === undefined) return '';
  switch (schema) {
    case 'boolean':
      return 'true';
    case 'integer':
    case 'long':
      return '1';
    case 'double':
    case 'float':
      return '1.5';
    case 'string':
      return '"text"';
    case 'dateTime':
      return JSON.stringify(new Date().toISOString());
    default:
      return '';
  }
}

function CommandCard({ deviceId, command, tick }: { deviceId: string; command?: CommandInfo; tick: number }) {
  const [name, setName] = useState(command?.name ?? '');
  const [payload, setPayload] = useState(example(command?.request?.schema));
  const [payloadError, setPayloadError] = useState<string | null>(null);
  const [runError, setRunError] = useState<string | null>(null);
  const [answer, setAnswer] = useState<DeviceCommand | null>(null);
  const [history, setHistory] = useState<DeviceCommand[]>([]);
  const [busy, setBusy] = useState(false);
  const label = command?.displayName ?? 'Direct method';
  const path = (n: string) =>
    command?.component
      ? devicePath(
          deviceId,
          `/components/${encodeURIComponent(command.component)}/commands/${encodeURIComponent(n)}`,
        )
      : devicePath(deviceId, `/commands/${encodeURIComponent(n)}`);

  useEffect(() => {
    if (name.trim() === '') return;
    let cancelled = false;
    api<{ value: DeviceCommand[] }>('GET', path(name.trim()))
      .then((r) => !cancelled && setHistory(r.value))
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
    // The history of this card's command; `path` depends on nothing else.
  }, [deviceId, name, tick, answer]);

  const run = async (e: FormEvent) => {
    e.preventDefault();
    setPayloadError(null);
    setRunError(null);
    let request: unknown;
    if (payload.trim() !== '') {
      try {
        request = JSON.parse(payload);
      } catch (err) {
        setPayloadError(`The payload is not JSON (${(err as Error).message}); nothing was sent.`);
        return;
      }
    }
    if (name.trim() === '') {
      setRunError('Name the direct method to run.');
      return;
    }
    setBusy(true);
    try {
      const result = await api<DeviceCommand>('POST', path(name.trim()), {
        ...(request !== undefined ? { request } : {}),
        connectionTimeout: 5,
        responseTimeout: 30,
      });
      setAnswer(result);
    } catch (err) {
      setRunError(messageOf(err));
      if (err instanceof ApiError) setAnswer(null);
    } finally {
      setBusy(false);
    }
  };

  const slug = command
    ? command.component
      ? `${command.component}-${command.name}`
      : command.name
    : 'method';
  return (
    <form className="card command-card" aria-label={`Command ${label}`} onSubmit={run} noValidate>
      <h2>
        {label} {command && <span className="muted small">{command.name}</span>}
      </h2>
      {!command && (
        <label>
          Method name
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
      )}
      <label>
        Payload (JSON)
        <textarea
          aria-label={`${label} payload`}
          value={payload}
          onChange={(e) => setPayload(e.target.value)}
          placeholder={command?.request ? example(command.request.schema) || '{}' : 'empty: no payload'}
          rows={3}
        />
      </label>
      {command?.request && (
        <p className="muted small">
          Request <code>{command.request.name}</code>: {schemaHint(command.request.schema)}
        </p>
      )}
      {command && !command.request && <p className="muted small">This command takes no request payload.</p>}
      <FieldError error={payloadError} />
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Running…' : 'Run'}
        </button>
        {command?.response && (
          <span className="muted small">
            Response <code>{command.response.name}</code>: {schemaHint(command.response.schema)}
          </span>
        )}
      </div>
      <FieldError error={runError} />
      {answer && (
        <div className="answer" data-testid={`answer-${slug}`}>
          <strong>Answer</strong>{' '}
          <Badge tone={answer.responseCode !== undefined && answer.responseCode < 300 ? 'ok' : 'bad'}>
            {answer.responseCode ?? answer.status}
          </Badge>
          <pre>
            {answer.response === undefined ? '(no payload)' : JSON.stringify(answer.response, null, 2)}
          </pre>
        </div>
      )}
      {history.length > 0 && (
        <details open>
          <summary>History ({history.length})</summary>
          <div className="table-wrap">
            <table aria-label={`${label} history`}>
              <thead>
                <tr>
                  <th>When</th>
                  <th>Result</th>
                  <th>Request</th>
                  <th>Response</th>
                </tr>
              </thead>
              <tbody>
                {history.map((h) => (
                  <tr key={h.id}>
                    <td title={h.time}>{ago(h.time)}</td>
                    <td>{h.status === 'completed' ? h.responseCode : h.status}</td>
                    <td>
                      <code>{h.request === undefined ? '' : JSON.stringify(h.request)}</code>
                    </td>
                    <td>
                      <code>{h.response === undefined ? '' : JSON.stringify(h.response)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      )}
    </form>
  );
}
