import { useEffect, useState, type ReactNode } from 'react';

/** Small shared pieces of the UI: copy buttons, field errors, empty states, dialogs, tabs. */

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="copy"
      aria-label={`${label}: ${text}`}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          // Clipboard refused (insecure context): select-and-copy still works on the shown text.
        }
        setCopied(true);
        setTimeout(() => setCopied(false), 1500);
      }}
    >
      {copied ? 'Copied' : label}
    </button>
  );
}

/** A value with its copy button, e.g. the ID scope or a verification code. */
export function CopyValue({ value, testId }: { value: string; testId?: string }) {
  return (
    <span className="copy-value">
      <code data-testid={testId}>{value}</code>
      <CopyButton text={value} />
    </span>
  );
}

/** The server's message, shown beside the field that caused it. */
export function FieldError({ error }: { error: string | null | undefined }) {
  if (error === null || error === undefined) return null;
  return (
    <p className="error" role="alert">
      {error}
    </p>
  );
}

/** What to do next when a list is empty. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <strong>{title}</strong>
      {children !== undefined && <div>{children}</div>}
    </div>
  );
}

/**
 * A list page's table: nothing while the rows load, `empty` when there are none, else one
 * `children(row)` a row under the column headings.
 */
export function ListTable<T>({
  label,
  rows,
  columns,
  empty,
  children,
}: {
  label: string;
  rows: readonly T[] | undefined;
  columns: readonly string[];
  empty: ReactNode;
  children: (row: T) => ReactNode;
}) {
  if (rows === undefined) return null;
  if (rows.length === 0) return <>{empty}</>;
  return (
    <div className="table-wrap">
      <table aria-label={label}>
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th key={i}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>{rows.map(children)}</tbody>
      </table>
    </div>
  );
}

export function Badge({
  tone,
  children,
}: {
  tone: 'ok' | 'warn' | 'bad' | 'info' | 'muted';
  children: ReactNode;
}) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export function Dialog({
  title,
  onClose,
  children,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
}) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <div className="dialog-backdrop" onClick={onClose}>
      <div role="dialog" aria-label={title} className="dialog card" onClick={(e) => e.stopPropagation()}>
        <header className="dialog-header">
          <h2>{title}</h2>
          <button type="button" className="ghost" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        {children}
      </div>
    </div>
  );
}

export function Tabs<T extends string>({
  tabs,
  current,
  onChange,
}: {
  tabs: ReadonlyArray<{ id: T; label: string }>;
  current: T;
  onChange: (id: T) => void;
}) {
  return (
    <div role="tablist" className="tabs">
      {tabs.map((t) => (
        <button
          key={t.id}
          role="tab"
          type="button"
          aria-selected={t.id === current}
          className={t.id === current ? 'tab active' : 'tab'}
          onClick={() => onChange(t.id)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

/** A file input that hands over the picked file's text. */
export function FileField({
  label,
  accept = '.pem,.cer,.crt',
  onText,
  name,
}: {
  label: string;
  accept?: string;
  name?: string;
  onText: (text: string, fileName: string) => void;
}) {
  return (
    <label className="file-field">
      {label}
      <input
        type="file"
        name={name}
        accept={accept}
        onChange={async (e) => {
          const file = e.target.files?.[0];
          if (file) onText(await file.text(), file.name);
          e.target.value = '';
        }}
      />
    </label>
  );
}

/** Relative time, e.g. "12 s ago". */
export function ago(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.max(0, s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
