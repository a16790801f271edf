import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { CliError } from './output.js';
import { SERVER_DEFAULTS } from './server-defaults.js';

/**
 * Which certificate authorities a command trusts when it connects to Gatehouse's device ports.
 * `ca` undefined means Node's own store: its bundled roots plus NODE_EXTRA_CA_CERTS, which Node
 * reads at start-up — what every Node program, the Azure SDK included, trusts by default.
 */
export interface ServerTrust {
  ca: Buffer | undefined;
  /** Where the trust came from, for messages: `--ca x.pem`, `NODE_EXTRA_CA_CERTS (x.pem)` … */
  source: string;
}

/** What the trust is chosen from: the command's flags and the environment. */
export interface ServerTrustInput {
  /** `--ca <file>`. */
  ca?: string | undefined;
  /** `--data <dir>` (or GATEHOUSE_DATA) when the user gave it, not its default. */
  data?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Folder relative paths start from (the current folder). */
  cwd?: string;
}

function readPem(path: string, what: string, fix: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    throw new CliError('ERR_CLI_READ_FILE', `Cannot read ${what} ${path} (${reason}): ${fix}`);
  }
  if (!pem.toString('utf8').includes('-----BEGIN CERTIFICATE-----')) {
    throw new CliError('ERR_CLI_READ_FILE', `${path} (${what}) holds no PEM certificate: ${fix}`);
  }
  return pem;
}

const FIX =
  'pass --ca, set GATEHOUSE_CA or NODE_EXTRA_CA_CERTS, or --data with the folder of `gatehouse serve`.';

/**
 * The server's CA, looked up in this order: `--ca`, `GATEHOUSE_CA`, or `--data`/`GATEHOUSE_DATA`
 * given by the user (`<data>/server-ca.pem`) — each of these alone; otherwise Node's store (its
 * roots and `NODE_EXTRA_CA_CERTS`, as every Node program trusts) together with
 * `./gatehouse-data/server-ca.pem` when that file exists. A source that was named but cannot be
 * read is an error, never silently skipped.
 */
export function serverTrust(input: ServerTrustInput): ServerTrust {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const given = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';
  if (given(input.ca)) {
    const path = resolve(cwd, input.ca);
    return { ca: readPem(path, 'the server CA (--ca)', FIX), source: `--ca ${path}` };
  }
  const gatehouseCa = env['GATEHOUSE_CA'];
  if (given(gatehouseCa)) {
    const path = resolve(cwd, gatehouseCa);
    return { ca: readPem(path, 'the server CA (GATEHOUSE_CA)', FIX), source: `GATEHOUSE_CA (${path})` };
  }
  if (given(input.data)) {
    const path = resolve(cwd, input.data, 'server-ca.pem');
    return { ca: readPem(path, 'the server CA (--data)', FIX), source: path };
  }
  const extraPath = given(env['NODE_EXTRA_CA_CERTS']) ? resolve(cwd, env['NODE_EXTRA_CA_CERTS']) : undefined;
  // Node only warns when the file is missing; a user who set it meant it, so say so.
  const extra = extraPath === undefined ? undefined : readPem(extraPath, 'NODE_EXTRA_CA_CERTS', FIX);
  const localPath = resolve(cwd, join(SERVER_DEFAULTS.dataDir, 'server-ca.pem'));
  const local = existsSync(localPath) ? readPem(localPath, 'the server CA', FIX) : undefined;
  const store =
    extraPath === undefined ? "Node's CA store" : `Node's CA store with NODE_EXTRA_CA_CERTS (${extraPath})`;
  if (local === undefined) {
    return {
      ca: undefined,
      source:
        extraPath === undefined
          ? `${store} (no --ca, GATEHOUSE_CA, NODE_EXTRA_CA_CERTS or ./gatehouse-data/server-ca.pem)`
          : store,
    };
  }
  // An explicit `ca` replaces Node's store, so the store goes in with the local CA.
  const ca = Buffer.concat([
    Buffer.from(rootCertificates.join('\n') + '\n'),
    ...(extra === undefined ? [] : [extra, Buffer.from('\n')]),
    local,
  ]);
  return { ca, source: `${localPath} and ${store}` };
}
