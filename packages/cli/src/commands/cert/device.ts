import type { Command } from 'commander';
import { createDeviceCertificate } from '@gatehouse/pki';
import { finish, prepare } from './create.js';
import { certFiles, checkName, checkParentName } from './names.js';
import { addCreateOptions, type CreateFlags } from './options.js';
import { loadParent } from './parent.js';

/**
 * `cert device <name> [parent]`: a TLS client certificate whose CN is the registration ID,
 * signed by `[parent]` or self-signed without one (create_test_cert.js `device`).
 */
export function registerDevice(cert: Command): void {
  addCreateOptions(
    cert
      .command('device')
      .argument('<name>', 'registration ID of the device: the common name and file prefix')
      .argument('[parent]', 'name of the signing CA; without it the certificate is self-signed')
      .description('create a device certificate signed by [parent], or self-signed'),
    365,
  ).action(async (rawName: string, rawParent: string | undefined, flags: CreateFlags) => {
    const name = checkName(rawName);
    const parentName = rawParent === undefined ? undefined : checkParentName(rawParent, name);
    const run = prepare(flags, certFiles(name));
    const parent = parentName === undefined ? undefined : loadParent(run.dir, parentName);
    // create_test_cert.js signs with any parent; Azure's individual-enrollment how-to runs
    // `device mytestsecondarycert mytestprimarycert`, a self-signed device certificate issuing
    // the secondary. The pki refuses every other non-CA parent (ERR_PKI_NOT_A_CA).
    const leafParent = parent !== undefined && !parent.issuer.certificate.isCA;
    const issued = await createDeviceCertificate({
      commonName: name,
      ...(parent ? { issuer: parent.issuer, issuerChain: parent.chain, allowSelfSignedIssuer: true } : {}),
      keySpec: run.options.keySpec,
      days: run.options.days,
    });
    const thumbprint = `SHA-1 thumbprint ${issued.certificate.sha1Thumbprint}`;
    finish(run, issued, {
      command: 'device',
      title: parentName
        ? `Created device certificate "${name}" signed by "${parentName}"`
        : `Created self-signed device certificate "${name}"`,
      ...(leafParent
        ? {
            note:
              `"${parentName}" is a self-signed device certificate, not a CA; it signed "${name}" ` +
              `as create_test_cert.js does (the how-to's secondary certificate).`,
          }
        : {}),
      next: (show) =>
        leafParent
          ? `upload ${show(run.files.cert)} as the secondary certificate of the individual enrollment ` +
            `whose primary is "${parentName}" (${thumbprint})`
          : parentName
            ? `the device "${name}" connects with ${show(run.files.key)} and ${show(run.files.fullchain ?? '')} ` +
              `through an enrollment group whose certificate is "${parentName}" or one of its parents`
            : `create an individual enrollment for "${name}" with ${show(run.files.cert)} (${thumbprint})`,
    });
  });
}
