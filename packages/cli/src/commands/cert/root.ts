import type { Command } from 'commander';
import { createRootCa } from '@gatehouse/pki';
import { finish, outFlag, prepare } from './create.js';
import { certFiles, checkName } from './names.js';
import { addCreateOptions, type CreateFlags } from './options.js';

/** `cert root [name]`: a self-signed root CA (create_test_cert.js `root`, PROTOCOL.md §8). */
export function registerRoot(cert: Command): void {
  addCreateOptions(
    cert
      .command('root')
      .argument('[name]', 'name of the CA: its common name and file prefix', 'root')
      .description('create a self-signed root CA: <name>_cert.pem, <name>_key.pem, <name>_fullchain.pem'),
    3650,
  ).action(async (rawName: string, flags: CreateFlags) => {
    const name = checkName(rawName);
    const run = prepare(flags, certFiles(name));
    const issued = await createRootCa({
      commonName: name,
      keySpec: run.options.keySpec,
      days: run.options.days,
    });
    finish(run, issued, {
      command: 'root',
      title: `Created root CA "${name}"`,
      next: (show) =>
        `upload ${show(run.files.cert)} as the primary certificate of an enrollment group, ` +
        `or issue an intermediate CA with: gatehouse cert intermediate <name> ${name}${outFlag(run)}`,
    });
  });
}
