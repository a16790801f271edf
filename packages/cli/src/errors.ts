/**
 * Every code the CLI itself raises (errors of the packages it calls, and the
 * server's REST errors, pass through with their own codes). docs/errors.md is
 * generated from this table.
 */
export const CLI_ERRORS = {
  ERR_CLI_USAGE:
    'The command line is wrong: an unknown option, a missing argument or a bad value (see `--help`).',
  ERR_CLI_INVALID_NAME:
    'A certificate name must be 1–64 lower-case letters, digits or hyphens (a parent name may use upper case, for files create_test_cert.js made).',
  ERR_CLI_INVALID_OPTION:
    'An option has a bad value (`--key-type`, `--curve`, `--bits`, `--days`, a port, `--drain-rate`, `--limit`, `--url`, a key, the `--devices`/`--interval`/`--duration`/`--prefix`/`--group-key` of simulate), or options contradict each other.',
  ERR_CLI_MISSING_OPTION:
    'A required option is missing (`cert verification` needs `--ca`, `--key` and `--nonce`; `cert verify` needs `--ca`; `group create` needs `--x509` or `--sas`; `device attest` needs `--primary` or `--sas`; `simulate` needs `--root` or `--group-key`, and `--id-scope` when the REST API cannot provide it).',
  ERR_CLI_PARENT_NOT_FOUND: '`<parent>_cert.pem` or `<parent>_key.pem` is not in the output folder.',
  ERR_CLI_CHAIN_MISMATCH:
    '`<parent>_fullchain.pem` does not start with the parent certificate, or is not a chain.',
  ERR_CLI_READ_FILE: 'An input file cannot be read (missing, a folder, or no permission).',
  ERR_CLI_OUTPUT_DIR:
    'The output folder does not exist, is a file, or is not writable (it is never created).',
  ERR_CLI_FILE_EXISTS: 'An output file already exists; pass `--force` to overwrite.',
  ERR_CLI_WRITE_FILE: 'Writing the output files failed; nothing of this run is left behind.',
  ERR_CLI_REDIS_WITHOUT_DATABASE:
    '`gatehouse serve --redis-url` (GATEHOUSE_REDIS_URL) without `--database-url` (GATEHOUSE_DATABASE_URL): the nodes of a cluster must share one PostgreSQL database.',
  ERR_CLI_LISTEN:
    '`gatehouse serve` cannot listen on a port: another process holds it, or it needs privileges.',
  ERR_CLI_SERVER_UNREACHABLE:
    'The REST API at `--url` (or GATEHOUSE_URL, default http://localhost:3000) cannot be reached: is `gatehouse serve` running there?',
  ERR_CLI_NO_TOKEN:
    'No API token: `--token` and GATEHOUSE_TOKEN are not set and `<data>/admin-token` (default ./gatehouse-data/admin-token, or `--data`/GATEHOUSE_DATA) is missing, unreadable or empty.',
  ERR_CLI_BAD_RESPONSE:
    'The server answered with something that is not a Gatehouse REST response: `--url` probably points at another service.',
  ERR_CLI_ENTRY_IN_USE:
    '`group create --x509`: that entry of the group already holds another CA certificate; pass `--force` to replace it (devices lose the verified CA), or use the other entry.',
  ERR_UNEXPECTED: 'An error without a code of its own; the message says what happened. Please report it.',
} as const;

export type CliErrorCode = keyof typeof CLI_ERRORS;
