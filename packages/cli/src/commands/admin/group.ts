import type { Command } from 'commander';
import { basename } from 'node:path';
import { createVerificationCertificate, PkiError, type Certificate, type PrivateKey } from '@gatehouse/pki';
import { addConnectionOptions, ApiClient, segment, type ConnectionFlags } from '../../api-client.js';
import { CliError } from '../../output.js';
import { readKeyFile } from '../cert/read.js';
import { registerGroupCrlCommand } from './group-crl.js';
import { base64Pem, fields, keyPair, print, readFirstCertificate, table } from './shared.js';

type Entry = 'primary' | 'secondary';

/** `SigningX509Certificate` as the server answers (CENTRAL_API.md §2). */
export interface SigningCertificate {
  verified: boolean;
  info: { sha1Thumbprint: string; subject?: string; notAfter?: string };
  etag?: string;
}

export interface EnrollmentGroup {
  id: string;
  displayName: string;
  enabled: boolean;
  type: string;
  idScope?: string;
  attestation:
    | { type: 'x509'; x509?: { signingCertificates?: Partial<Record<Entry, SigningCertificate>> } }
    | { type: 'symmetricKey'; symmetricKey?: { primaryKey: string; secondaryKey: string } };
  /** X.509 groups: the serials their imported CRLs revoke. */
  revokedCertificates?: Array<{ serialNumber: string; issuer: string; revocationDate: string }>;
}

interface CreateFlags extends ConnectionFlags {
  x509?: string;
  verifyWith?: string;
  secondary?: boolean;
  sas?: boolean;
  primaryKey?: string;
  secondaryKey?: string;
  edge?: boolean;
  force?: boolean;
}

const groupPath = (name: string): string => `api/enrollmentGroups/${segment(name)}`;
const certPath = (name: string, entry: Entry): string => `${groupPath(name)}/certificates/${entry}`;

function describeCertificate(c: Certificate): string {
  return c.subjectCN ?? c.subject;
}

/** `gatehouse group …`: enrollment groups (device connection groups). */
export function registerGroupCommands(program: Command): void {
  const group = program
    .command('group')
    .description('enrollment groups: create (X.509 with proof of possession, or SAS), verify, list, show')
    .addHelpText(
      'after',
      [
        '',
        'Example: an X.509 group whose root is verified in one step, then a device under it',
        '  gatehouse cert root myroot',
        '  gatehouse group create MyX509Group --x509 myroot_cert.pem --verify-with myroot_key.pem',
        '  gatehouse cert device mydevice myroot',
      ].join('\n'),
    );

  addConnectionOptions(
    group
      .command('create')
      .description(
        'create an enrollment group: X.509 (upload a CA, optionally prove possession of its key) or SAS',
      )
      .argument('<name>', 'the group ID (letters, digits and hyphens); also its display name')
      .option('--x509 <ca_cert.pem>', 'an X.509 group: the root or intermediate CA that issues the devices')
      .option(
        '--verify-with <ca_key.pem>',
        "the CA's private key: sign the verification certificate locally, so the CA is verified at once",
      )
      .option('--secondary', 'upload the CA as the secondary certificate (default primary)')
      .option('--sas', 'a symmetric-key (SAS) group')
      .option('--primary-key <key>', 'SAS: the primary group key (base64, 16–64 bytes; default generated)')
      .option('--secondary-key <key>', 'SAS: the secondary group key (default generated)')
      .option('--edge', 'a group for IoT Edge devices (type iotEdge; default iot)')
      .option('--force', "X.509: replace the entry's certificate when the group already has another one"),
  ).action(async (name: string, flags: CreateFlags) => {
    if (flags.x509 !== undefined && flags.sas) {
      throw new CliError('ERR_CLI_INVALID_OPTION', 'Choose one of --x509 <ca_cert.pem> and --sas, not both.');
    }
    if (flags.x509 === undefined && !flags.sas) {
      throw new CliError(
        'ERR_CLI_MISSING_OPTION',
        'Say how devices of the group authenticate: --x509 <ca_cert.pem> or --sas.',
      );
    }
    if (flags.sas) await createSasGroup(name, flags);
    else await createX509Group(name, flags.x509 ?? '', flags);
  });

  addConnectionOptions(
    group
      .command('verify')
      .description(
        'finish proof of possession with a verification certificate made by `gatehouse cert verification`',
      )
      .argument('<name>', 'the group ID')
      .argument('<verification_cert.pem>', 'the certificate whose CN is the verification code')
      .option('--secondary', 'verify the secondary certificate (default primary)'),
  ).action(async (name: string, file: string, flags: ConnectionFlags & { secondary?: boolean }) => {
    const entry: Entry = flags.secondary ? 'secondary' : 'primary';
    const verification = readFirstCertificate(file, 'the verification certificate');
    const client = ApiClient.fromFlags(flags);
    await client.request('POST', `${certPath(name, entry)}/verify`, { certificate: base64Pem(verification) });
    const cert = await client.request<SigningCertificate>('GET', certPath(name, entry));
    print(flags.json, { group: name, entry, certificate: cert }, () => [
      `${name}: ${entry} certificate ${cert.info.sha1Thumbprint} ${cert.verified ? 'verified' : 'NOT verified'}`,
    ]);
  });

  addConnectionOptions(group.command('list').description('list the enrollment groups')).action(
    async (flags: ConnectionFlags) => {
      const client = ApiClient.fromFlags(flags);
      const { value } = await client.request<{ value: EnrollmentGroup[] }>('GET', 'api/enrollmentGroups');
      print(flags.json, { value }, () =>
        value.length === 0
          ? ['No enrollment groups.']
          : table(
              ['ID', 'TYPE', 'ATTESTATION', 'ENABLED', 'CERTIFICATES'],
              value.map((g) => [
                g.id,
                g.type,
                g.attestation.type === 'x509' ? 'X.509' : 'SAS',
                g.enabled ? 'yes' : 'no',
                certificateSummary(g),
              ]),
            ),
      );
    },
  );

  addConnectionOptions(
    group
      .command('show')
      .description('show an enrollment group: its certificates and whether they are verified, or its keys')
      .argument('<name>', 'the group ID'),
  ).action(async (name: string, flags: ConnectionFlags) => {
    const client = ApiClient.fromFlags(flags);
    const g = await client.request<EnrollmentGroup>('GET', groupPath(name));
    print(flags.json, g, () => showGroup(g));
  });

  registerGroupCrlCommand(group);
}

function certificateSummary(g: EnrollmentGroup): string {
  if (g.attestation.type !== 'x509') return '-';
  const certs = g.attestation.x509?.signingCertificates ?? {};
  const parts = (['primary', 'secondary'] as const).flatMap((entry) => {
    const c = certs[entry];
    return c
      ? [`${entry} ${c.info.sha1Thumbprint.slice(0, 8)}… ${c.verified ? 'verified' : 'unverified'}`]
      : [];
  });
  return parts.length > 0 ? parts.join(', ') : 'none uploaded';
}

function showGroup(g: EnrollmentGroup): string[] {
  const lines = [`Enrollment group ${g.id}`];
  const entries: Array<[string, string]> = [
    ['Display name', g.displayName],
    ['Type', g.type],
    ['Enabled', g.enabled ? 'yes' : 'no'],
    ['ID scope', g.idScope ?? '-'],
  ];
  if (g.attestation.type === 'symmetricKey') {
    entries.push(['Attestation', 'SAS (symmetric key)']);
    entries.push(['Primary key', g.attestation.symmetricKey?.primaryKey ?? '-']);
    entries.push(['Secondary key', g.attestation.symmetricKey?.secondaryKey ?? '-']);
    lines.push(...fields(entries));
    lines.push('Device keys: gatehouse keys derive --group-key <primary key> --id <device ID>');
    return lines;
  }
  entries.push(['Attestation', 'X.509 (CA certificates)']);
  const certs = g.attestation.x509?.signingCertificates ?? {};
  for (const entry of ['primary', 'secondary'] as const) {
    const c = certs[entry];
    const label = `${entry[0]?.toUpperCase()}${entry.slice(1)}`;
    entries.push([
      label,
      c
        ? `${c.info.sha1Thumbprint} ${c.verified ? 'verified' : 'NOT verified'}${c.info.subject ? `, ${c.info.subject}` : ''}${c.info.notAfter ? `, valid until ${c.info.notAfter.slice(0, 10)}` : ''}`
        : 'none',
    ]);
  }
  entries.push([
    'Revoked',
    `${g.revokedCertificates?.length ?? 0} certificate(s) (gatehouse group crl ${g.id} <crl_file>)`,
  ]);
  lines.push(...fields(entries));
  const unverified = (['primary', 'secondary'] as const).filter((e) => certs[e] && !certs[e].verified);
  if (unverified.length > 0) {
    lines.push(
      `Devices cannot register through an unverified certificate: gatehouse group create ${g.id} --x509 <ca_cert.pem> --verify-with <ca_key.pem>${unverified[0] === 'secondary' ? ' --secondary' : ''}`,
    );
  }
  return lines;
}

async function createSasGroup(name: string, flags: CreateFlags): Promise<void> {
  if (flags.verifyWith !== undefined || flags.secondary) {
    throw new CliError(
      'ERR_CLI_INVALID_OPTION',
      '--verify-with and --secondary apply to --x509 groups only.',
    );
  }
  const keys = keyPair(flags.primaryKey, flags.secondaryKey);
  const client = ApiClient.fromFlags(flags);
  const g = await client.request<EnrollmentGroup>('PUT', groupPath(name), {
    displayName: name,
    type: flags.edge ? 'iotEdge' : 'iot',
    attestation: { type: 'symmetricKey', ...(keys ? { symmetricKey: keys } : {}) },
  });
  const sk = g.attestation.type === 'symmetricKey' ? g.attestation.symmetricKey : undefined;
  print(flags.json, g, () => [
    `Enrollment group ${g.id} (SAS, type ${g.type}, ID scope ${g.idScope ?? '-'}) is ready.`,
    ...fields([
      ['Primary key', sk?.primaryKey ?? '-'],
      ['Secondary key', sk?.secondaryKey ?? '-'],
    ]),
    'Keep the keys secret: anyone holding them can register any device ID in this group.',
    `Next: gatehouse keys derive --group-key <primary key> --id <device ID>  (the key a device uses)`,
  ]);
}

async function createX509Group(name: string, caFile: string, flags: CreateFlags): Promise<void> {
  if (flags.primaryKey !== undefined || flags.secondaryKey !== undefined) {
    throw new CliError(
      'ERR_CLI_INVALID_OPTION',
      '--primary-key and --secondary-key apply to --sas groups only.',
    );
  }
  const entry: Entry = flags.secondary ? 'secondary' : 'primary';
  // Everything local first: a wrong file or key leaves the server untouched.
  const ca = readFirstCertificate(caFile, 'the CA certificate');
  let caKey: PrivateKey | undefined;
  if (flags.verifyWith !== undefined) {
    caKey = readKeyFile(flags.verifyWith, 'the CA key');
    if (!ca.matchesKey(caKey)) {
      throw new PkiError(
        'ERR_PKI_KEY_MISMATCH',
        `${flags.verifyWith} is not the private key of ${caFile} ("${describeCertificate(ca)}"): nothing was uploaded. Pass the key made together with the certificate.`,
      );
    }
  }

  const client = ApiClient.fromFlags(flags);
  const existing = await client.find<EnrollmentGroup>(groupPath(name), 'ERR_GROUP_NOT_FOUND');
  let g: EnrollmentGroup;
  if (existing && existing.attestation.type === 'x509') {
    g = existing;
  } else {
    g = await client.request<EnrollmentGroup>('PUT', groupPath(name), {
      displayName: name,
      type: flags.edge ? 'iotEdge' : 'iot',
      attestation: { type: 'x509' },
    });
  }
  const current =
    existing?.attestation.type === 'x509'
      ? existing.attestation.x509?.signingCertificates?.[entry]
      : undefined;
  if (current && current.info.sha1Thumbprint !== ca.sha1Thumbprint && !flags.force) {
    throw new CliError(
      'ERR_CLI_ENTRY_IN_USE',
      `The ${entry} certificate of ${name} is already ${current.info.sha1Thumbprint}${current.info.subject ? ` (${current.info.subject})` : ''}, not ${caFile}. Pass --force to replace it (devices of the old CA are then refused), or ${entry === 'primary' ? '--secondary' : 'leave out --secondary'} to use the other entry.`,
    );
  }
  const sameCertificate = current?.info.sha1Thumbprint === ca.sha1Thumbprint;
  if (sameCertificate && current?.verified) {
    // Re-uploading would reset it to unverified: there is nothing to do.
    print(flags.json, { group: g, entry, certificate: current }, () => [
      `${name}: ${entry} certificate ${current.info.sha1Thumbprint} verified (already)`,
    ]);
    return;
  }
  let uploaded: SigningCertificate;
  if (sameCertificate && current) {
    uploaded = current;
  } else {
    try {
      uploaded = await client.request<SigningCertificate>('PUT', certPath(name, entry), {
        certificate: base64Pem(ca),
      });
    } catch (err) {
      // A group this run created and could not give a certificate is taken back.
      if (!existing) await client.request('DELETE', groupPath(name)).catch(() => undefined);
      throw err;
    }
  }
  const { verificationCode, expiresAt } = await client.request<{
    verificationCode: string;
    expiresAt?: string;
  }>('POST', `${certPath(name, entry)}/generateVerificationCode`);
  const header = [
    existing
      ? `Enrollment group ${g.id} (X.509, type ${g.type}, ID scope ${g.idScope ?? '-'}) exists; using it.`
      : `Created enrollment group ${g.id} (X.509, type ${g.type}, ID scope ${g.idScope ?? '-'}).`,
    sameCertificate
      ? `${caFile} ("${describeCertificate(ca)}") is already the ${entry} certificate.`
      : `Uploaded ${caFile} ("${describeCertificate(ca)}") as the ${entry} certificate.`,
  ];

  if (!caKey) {
    const secondary = entry === 'secondary' ? ' --secondary' : '';
    const next = [
      `gatehouse cert verification --ca ${caFile} --key <ca_key.pem> --nonce ${verificationCode}`,
      `gatehouse group verify ${name} verification_cert.pem${secondary}`,
    ];
    print(flags.json, { group: g, entry, certificate: uploaded, verificationCode, expiresAt, next }, () => [
      ...header,
      `${name}: ${entry} certificate ${uploaded.info.sha1Thumbprint} is NOT verified yet; devices cannot register through it.`,
      `Verification code: ${verificationCode}${expiresAt ? ` (valid until ${expiresAt})` : ''}`,
      'Prove you hold the CA key:',
      ...next.map((n) => `  ${n}`),
      `(or in one step: gatehouse group create ${name} --x509 ${caFile} --verify-with <ca_key.pem>${secondary})`,
    ]);
    return;
  }

  const issued = await createVerificationCertificate({
    nonce: verificationCode,
    ca: { certificate: ca, privateKey: caKey },
  });
  await client.request('POST', `${certPath(name, entry)}/verify`, {
    certificate: base64Pem(issued.certificate),
  });
  const verified = await client.request<SigningCertificate>('GET', certPath(name, entry));
  if (!verified.verified) {
    throw new CliError(
      'ERR_CLI_BAD_RESPONSE',
      `The server accepted the verification certificate but reports the ${entry} certificate of ${name} as not verified.`,
    );
  }
  print(flags.json, { group: g, entry, certificate: verified }, () => [
    ...header,
    `${name}: ${entry} certificate ${verified.info.sha1Thumbprint} verified`,
    `Devices whose certificates chain to "${describeCertificate(ca)}" can now register with ID scope ${g.idScope ?? '-'} (registration ID = certificate CN).`,
    `Next: gatehouse cert device <device-id> ${/^[A-Za-z0-9-]{1,64}_cert\.pem$/.test(basename(caFile)) ? basename(caFile).slice(0, -'_cert.pem'.length) : '<ca name>'}`,
  ]);
}
