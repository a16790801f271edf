import { CliError } from '../../output.js';

/** What `cert root|intermediate|device` accept as a name: it becomes the CN and the file prefix. */
const NAME = /^[a-z0-9-]{1,64}$/;
/**
 * A parent may also be in mixed case, so that files made by create_test_cert.js (which names them
 * `camelCase(commonName)`, PROTOCOL.md §8) can be used; no dots or slashes, so a parent name never
 * leaves the folder.
 */
const PARENT_NAME = /^[A-Za-z0-9-]{1,64}$/;

/** The three files of a certificate called `name`. */
export function certFiles(name: string): { cert: string; key: string; fullchain: string } {
  return { cert: `${name}_cert.pem`, key: `${name}_key.pem`, fullchain: `${name}_fullchain.pem` };
}

export function checkName(name: string): string {
  if (!NAME.test(name)) {
    throw new CliError(
      'ERR_CLI_INVALID_NAME',
      `"${name}" is not a valid name: use 1 to 64 lower-case letters, digits and hyphens.`,
    );
  }
  return name;
}

export function checkParentName(parent: string, name: string): string {
  if (!PARENT_NAME.test(parent)) {
    throw new CliError(
      'ERR_CLI_INVALID_NAME',
      `"${parent}" is not a valid parent name: use 1 to 64 letters, digits and hyphens.`,
    );
  }
  if (parent === name) throw new CliError('ERR_CLI_INVALID_NAME', `"${name}" cannot be its own parent.`);
  return parent;
}
