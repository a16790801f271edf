/**
 * Every code the CLI itself raises (errors of the packages it calls pass
 * through with their own codes). docs/errors.md is generated from this table.
 */
export const CLI_ERRORS = {
  ERR_CLI_USAGE:
    'The command line is wrong: an unknown option, a missing argument or a bad value (see `--help`).',
  ERR_CLI_INVALID_NAME:
    'A certificate name must be 1–64 lower-case letters, digits or hyphens (a parent name may use upper case, for files create_test_cert.js made).',
  ERR_CLI_INVALID_OPTION:
    'An option has a bad value (`--key-type`, `--curve`, `--bits`, `--days`, a port), or key options contradict each other.',
  ERR_CLI_MISSING_OPTION:
    'A required option is missing (`verification` needs `--ca`, `--key` and `--nonce`; `verify` needs `--ca`).',
  ERR_CLI_PARENT_NOT_FOUND: '`<parent>_cert.pem` or `<parent>_key.pem` is not in the output folder.',
  ERR_CLI_CHAIN_MISMATCH:
    '`<parent>_fullchain.pem` does not start with the parent certificate, or is not a chain.',
  ERR_CLI_READ_FILE: 'An input file cannot be read (missing, a folder, or no permission).',
  ERR_CLI_OUTPUT_DIR:
    'The output folder does not exist, is a file, or is not writable (it is never created).',
  ERR_CLI_FILE_EXISTS: 'An output file already exists; pass `--force` to overwrite.',
  ERR_CLI_WRITE_FILE: 'Writing the output files failed; nothing of this run is left behind.',
  ERR_CLI_LISTEN:
    '`gatehouse serve` cannot listen on a port: another process holds it, or it needs privileges.',
  ERR_UNEXPECTED: 'An error without a code of its own; the message says what happened. Please report it.',
} as const;

export type CliErrorCode = keyof typeof CLI_ERRORS;
