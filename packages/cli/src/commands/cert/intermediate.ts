import type { Command } from 'commander';
import { createIntermediateCa } from '@gatehouse/pki';
import { finish, outFlag, prepare } from './create.js';
import { certFiles, checkName, checkParentName } from './names.js';
import { addCreateOptions, type CreateFlags } from './options.js';
import { loadParent } from './parent.js';
import { CliError } from '../../output.js';

/** `cert intermediate <name> <parent>`: a CA signed by `<parent>` (create_test_cert.js `intermediate`). */
export function registerIntermediate(cert: Command): void {
  addCreateOptions(
    cert
      .command('intermediate')
      .argument('<name>', 'name of the new CA: its common name and file prefix')
      .argument('<parent>', 'name of the signing CA, read from <parent>_cert.pem and <parent>_key.pem')
      .description('create an intermediate CA signed by <parent>')
      .option(
        '--path-len <n>',
        'pathLenConstraint: how many more CAs may follow below this one (RFC 5280 §4.2.1.9)',
      ),
    3650,
  ).action(async (rawName: string, rawParent: string, flags: CreateFlags & { pathLen?: string }) => {
    const name = checkName(rawName);
    let pathLen: number | undefined;
    if (flags.pathLen !== undefined) {
      pathLen = Number(flags.pathLen);
      if (!Number.isInteger(pathLen) || pathLen < 0 || pathLen > 16) {
        throw new CliError(
          'ERR_CLI_INVALID_OPTION',
          `--path-len must be a whole number from 0 to 16 (got '${flags.pathLen}').`,
        );
      }
    }
    const parentName = checkParentName(rawParent, name);
    const run = prepare(flags, certFiles(name));
    const parent = loadParent(run.dir, parentName);
    const issued = await createIntermediateCa({
      commonName: name,
      issuer: parent.issuer,
      issuerChain: parent.chain,
      keySpec: run.options.keySpec,
      days: run.options.days,
      ...(pathLen !== undefined ? { pathLen } : {}),
    });
    finish(run, issued, {
      command: 'intermediate',
      title: `Created intermediate CA "${name}" signed by "${parentName}"`,
      next: () => `issue device certificates with: gatehouse cert device <name> ${name}${outFlag(run)}`,
    });
  });
}
