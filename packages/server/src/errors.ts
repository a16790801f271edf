/**
 * The one base error of the server. Every refusal carries a stable `code`
 * (documented in docs/errors.md), the HTTP status the REST API answers with,
 * optionally the DPS `errorCode` a device sees, a user-safe `message`, and the
 * internal `cause` that is logged but never sent.
 */
export interface ErrorSpec {
  /** HTTP status for the REST API (and the DPS response topic status). */
  status: number;
  /** Numeric DPS error code (status × 1000 + detail) when a device can see this error. */
  dpsErrorCode?: number;
  /** One line for docs/errors.md: what happened. */
  summary: string;
  /** One line for docs/errors.md: what the user does about it. */
  fix?: string;
}

export class GatehouseError extends Error {
  readonly code: string;
  readonly status: number;
  readonly dpsErrorCode: number | undefined;
  readonly detail: Record<string, unknown> | undefined;

  constructor(
    code: string,
    spec: ErrorSpec,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatehouseError';
    this.code = code;
    this.status = spec.status;
    this.dpsErrorCode = spec.dpsErrorCode;
    this.detail = options?.detail;
  }
}

/** Build a typed factory over one context's table of error codes. */
export function errorFactory<T extends Record<string, ErrorSpec>>(table: T) {
  return (
    code: keyof T & string,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) => new GatehouseError(code, table[code] as ErrorSpec, message, options);
}
