/**
 * Field checks shared by the broker destinations (mqtt@v1, amqp@v1): each wrong field becomes a
 * {@link FieldProblem} naming it, so a PUT answers 400 with every problem at once; secrets are
 * masked as IoT Central masks them.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { FieldProblem } from '../contracts.js';

/** What IoT Central answers in place of a secret. */
export const MASK = '*****';

/** The placeholders a topic or routing-key template may hold. */
export const TEMPLATE_FIELDS = ['deviceId', 'messageSource'] as const;

/** What `{deviceId}` becomes for messages without a device (audit, template lifecycle). */
export const NO_DEVICE = '-';

export type BrokerAuthorization =
  | { type: 'none' }
  | { type: 'userNamePassword'; userName: string; password: string }
  | { type: 'clientCertificate'; certificate: string; privateKey: string };

/** Collects problems while reading an untrusted body. */
export class FieldReader {
  readonly problems: FieldProblem[] = [];

  constructor(private readonly body: Record<string, unknown>) {}

  problem(field: string, message: string): void {
    this.problems.push({ field, message });
  }

  /** A required non-empty string (trimmed check), or undefined with a problem. */
  string(field: string, value: unknown = this.body[field], max = 1024): string | undefined {
    if (value === undefined || value === null || value === '') {
      this.problem(field, `${field} is required.`);
      return undefined;
    }
    if (typeof value !== 'string') {
      this.problem(field, `${field} must be a string.`);
      return undefined;
    }
    if (value.trim() === '') {
      this.problem(field, `${field} must not be blank.`);
      return undefined;
    }
    if (value.length > max) {
      this.problem(field, `${field} is longer than ${max} characters.`);
      return undefined;
    }
    return value;
  }

  /** An optional string: undefined when absent. */
  optionalString(field: string, value: unknown = this.body[field], max = 1024): string | undefined {
    if (value === undefined || value === null) return undefined;
    return this.string(field, value, max);
  }
}

/** The body as an object, or a problem naming the whole body. */
export function objectBody(body: unknown): Record<string, unknown> | FieldProblem[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return [{ field: 'body', message: 'The destination must be a JSON object.' }];
  return body as Record<string, unknown>;
}

/**
 * A broker URL with one of `schemes` (`['mqtt:', 'mqtts:']`), a host, no credentials (they go
 * in `authorization`, where they are masked) and, unless `allowPath`, no path.
 */
export function brokerUrl(
  r: FieldReader,
  value: unknown,
  schemes: readonly string[],
  allowPath: boolean,
): URL | undefined {
  const text = r.string('url', value, 2048);
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    r.problem('url', `url is not a valid URL: "${text.slice(0, 100)}".`);
    return undefined;
  }
  const names = schemes.map((s) => s.replace(':', '://')).join(' or ');
  if (!schemes.includes(url.protocol)) {
    r.problem('url', `url must start with ${names}; "${url.protocol.replace(':', '')}" is not supported.`);
    return undefined;
  }
  if (url.hostname === '') {
    r.problem('url', 'url must name the broker host.');
    return undefined;
  }
  if (url.username !== '' || url.password !== '') {
    r.problem('url', 'url must not hold a user name or password: put them in authorization.');
    return undefined;
  }
  if (!allowPath && url.pathname !== '' && url.pathname !== '/') {
    r.problem('url', 'url must not have a path: the topic is set by topic.');
    return undefined;
  }
  if (url.search !== '' || url.hash !== '') {
    r.problem('url', 'url must not have a query or a fragment.');
    return undefined;
  }
  return url;
}

/**
 * A template with only `{deviceId}` and `{messageSource}` placeholders; `forbidden` lists
 * characters the target refuses (MQTT wildcards in a topic name, [MQTT-3.3.2-2]).
 */
export function template(
  r: FieldReader,
  field: string,
  value: unknown,
  max: number,
  forbidden: readonly string[] = [],
): string | undefined {
  const text = r.string(field, value, max);
  if (text === undefined) return undefined;
  for (const match of text.matchAll(/\{([^}]*)\}/g)) {
    if (!(TEMPLATE_FIELDS as readonly string[]).includes(match[1] ?? '')) {
      r.problem(
        field,
        `${field} has an unknown placeholder {${match[1]}}: use {deviceId} or {messageSource}.`,
      );
      return undefined;
    }
  }
  const bad = forbidden.find((c) => text.includes(c));
  if (bad !== undefined) {
    r.problem(field, `${field} must not contain "${bad === '\u0000' ? 'NUL' : bad}".`);
    return undefined;
  }
  return text;
}

/** The template filled for one message; `unsafe` characters of the values become `_`. */
export function fillTemplate(
  text: string,
  item: { deviceId?: string | undefined; messageSource: string },
  unsafe: RegExp,
): string {
  return text
    .replaceAll('{deviceId}', (item.deviceId ?? NO_DEVICE).replace(unsafe, '_'))
    .replaceAll('{messageSource}', item.messageSource.replace(unsafe, '_'));
}

function pemCertificate(r: FieldReader, field: string, value: unknown): string | undefined {
  const text = r.string(field, value, 64 * 1024);
  if (text === undefined) return undefined;
  try {
    new X509Certificate(text);
    return text;
  } catch {
    r.problem(field, `${field} must be a PEM certificate (-----BEGIN CERTIFICATE-----).`);
    return undefined;
  }
}

function pemKey(r: FieldReader, field: string, value: unknown): string | undefined {
  const text = r.string(field, value, 64 * 1024);
  if (text === undefined) return undefined;
  if (text === MASK) {
    r.problem(field, `${field} is the masked value "${MASK}": send the key itself.`);
    return undefined;
  }
  try {
    createPrivateKey(text);
    return text;
  } catch {
    r.problem(field, `${field} must be an unencrypted PEM private key.`);
    return undefined;
  }
}

/** `caCertificate`: the PEM certificates that the broker's TLS certificate chains to. */
export function caCertificate(r: FieldReader, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return pemCertificate(r, 'caCertificate', value);
}

/**
 * `authorization`: `{type:'none'}` (also when absent), `{type:'userNamePassword', userName,
 * password}` or `{type:'clientCertificate', certificate, privateKey}` (PEM).
 */
export function authorization(r: FieldReader, value: unknown): BrokerAuthorization | undefined {
  if (value === undefined || value === null) return { type: 'none' };
  if (typeof value !== 'object' || Array.isArray(value)) {
    r.problem('authorization', 'authorization must be an object with a type.');
    return undefined;
  }
  const a = value as Record<string, unknown>;
  switch (a['type']) {
    case 'none':
      return { type: 'none' };
    case 'userNamePassword': {
      const userName = r.string('authorization.userName', a['userName'], 1024);
      const password = r.string('authorization.password', a['password'], 1024);
      if (password === MASK)
        r.problem(
          'authorization.password',
          `authorization.password is the masked value "${MASK}": send it again.`,
        );
      if (userName === undefined || password === undefined || password === MASK) return undefined;
      return { type: 'userNamePassword', userName, password };
    }
    case 'clientCertificate': {
      const certificate = pemCertificate(r, 'authorization.certificate', a['certificate']);
      const privateKey = pemKey(r, 'authorization.privateKey', a['privateKey']);
      if (certificate === undefined || privateKey === undefined) return undefined;
      try {
        if (!new X509Certificate(certificate).checkPrivateKey(createPrivateKey(privateKey))) {
          r.problem(
            'authorization.privateKey',
            'authorization.privateKey does not belong to the certificate.',
          );
          return undefined;
        }
      } catch {
        r.problem('authorization.privateKey', 'authorization.privateKey does not belong to the certificate.');
        return undefined;
      }
      return { type: 'clientCertificate', certificate, privateKey };
    }
    default:
      r.problem(
        'authorization.type',
        'authorization.type must be none, userNamePassword or clientCertificate.',
      );
      return undefined;
  }
}

/** The authorization as GET answers it: password and private key masked. */
export function maskAuthorization(a: BrokerAuthorization): Record<string, unknown> {
  switch (a.type) {
    case 'none':
      return { type: 'none' };
    case 'userNamePassword':
      return { type: 'userNamePassword', userName: a.userName, password: MASK };
    case 'clientCertificate':
      return { type: 'clientCertificate', certificate: a.certificate, privateKey: MASK };
  }
}
