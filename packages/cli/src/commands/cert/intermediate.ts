import type { Command } from 'commander';
import { createIntermediateCa } from '@gatehouse/pki';
import { finish, outFlag, prepare } from './create.js';
import { certFiles, checkName, checkParentName } from './names.js';
import { addCreateOptions, type CreateFlags } from './options.js';
import { loadParent } from './parent.js';

/** `cert intermediate <name> <parent>`: a CA signed by `<parent>` (create_test_cert.js `intermediate`). */
export function registerIntermediate(cert: Command): void {
  addCreateOptions(
    cert
      .command('intermediate')
      .argument('<name>', 'name of the new CA: its common name and file prefix')
      .argument('<parent>', 'name of the signing CA, read from <parent>_cert.pem and <parent>_key.pem')
      .description('create an intermediate CA signed by <parent>'),
    3650,
  ).action(async (rawName: string, rawParent: string, flags: CreateFlags) => {
    const name = checkName(rawName);
    const parentName = checkParentName(rawParent, name);
    const run = prepare(flags, certFiles(name));
    const parent = loadParent(run.dir, parentName);
    const issued = await createIntermediateCa({
      commonName: name,
      issuer: parent.issuer,
      issuerChain: parent.chain,
      keySpec: run.options.keySpec,
      days: run.options.days,
    });
    finish(run, issued, {
      command: 'intermediate',
      title: `Created intermediate CA "${name}" signed by "${parentName}"`,
      next: () => `issue device certificates with: gatehouse cert device <name> ${name}${outFlag(run)}`,
    });
  });
}
