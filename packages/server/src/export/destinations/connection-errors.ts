/**
 * Network and TLS failures of a broker connection in words a user can act on (shown as the
 * destination's `errors`): DNS, refused, timed out, TLS trust, TLS handshake.
 */
import { DeliveryError } from '../contracts.js';

const TLS_TRUST = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** `host:port` of a URL, with the scheme's default port. */
export function endpoint(url: URL, defaultPort: number): string {
  return `${url.hostname}:${url.port || defaultPort}`;
}

/**
 * A DeliveryError for a failure to reach or talk to `where` (`host:port`). Configuration errors
 * (unknown host name, untrusted or wrongly named certificate) are permanent.
 */
export function connectionError(err: unknown, where: string, what: string): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = err as { code?: unknown; message?: unknown; hostname?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const host = where.replace(/:\d+$/, '');
  if (code === 'ENOTFOUND')
    return new DeliveryError(
      `DNS: the host name "${host}" of the ${what} does not resolve (ENOTFOUND).`,
      true,
    );
  if (code === 'EAI_AGAIN')
    return new DeliveryError(
      `DNS: the host name "${host}" of the ${what} could not be resolved now (EAI_AGAIN).`,
    );
  if (code === 'ECONNREFUSED')
    return new DeliveryError(`Connection refused by ${where}: is the ${what} running and listening there?`);
  if (code === 'ETIMEDOUT' || code === 'ETIMEOUT')
    return new DeliveryError(`No answer from ${where}: the ${what} did not respond in time.`);
  if (code === 'ECONNRESET' || code === 'EPIPE')
    return new DeliveryError(`The ${what} at ${where} closed the connection (${code}).`);
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
    return new DeliveryError(`The ${what} at ${where} cannot be reached (${code}).`);
  if (TLS_TRUST.has(code))
    return new DeliveryError(
      `TLS: the ${what}'s certificate at ${where} is not trusted (${code}): give its CA as caCertificate.`,
      true,
    );
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return new DeliveryError(`TLS: the ${what}'s certificate at ${where} is not valid now (${code}).`, true);
  // Node.js's own codes, matched as patterns (the errors table lists only Gatehouse's codes).
  if (/^ERR_TLS_CERT_ALTNAME_INVALID$/.test(code))
    return new DeliveryError(
      `TLS: the ${what}'s certificate at ${where} is not issued for "${host}" (${code}).`,
      true,
    );
  if (/^ERR_SSL_/.test(code) || /ssl|tls|alert/i.test(message)) {
    // OpenSSL's text is `<hex>:error:<hex>:SSL routines:<function>:<reason>:<file>:<line>:…`.
    const reason = /:SSL routines:[^:]*:([^:]+)/.exec(message)?.[1] ?? message.replace(/\.$/, '');
    if (/alert certificate required/.test(reason))
      return new DeliveryError(
        `TLS handshake with ${where} failed: the ${what} requires a client certificate (${reason}).`,
        true,
      );
    if (
      /alert (bad certificate|unknown ca|certificate unknown|certificate revoked|certificate expired)/.test(
        reason,
      )
    )
      return new DeliveryError(
        `TLS handshake with ${where} failed: the ${what} refused the client certificate (${reason}).`,
        true,
      );
    return new DeliveryError(`TLS handshake with ${where} failed: ${reason}.`);
  }
  return new DeliveryError(`The ${what} at ${where} failed: ${message}${code ? ` (${code})` : ''}.`);
}
