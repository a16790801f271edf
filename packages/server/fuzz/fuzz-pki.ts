/**
 * `npm run fuzz -- pki`: the certificate and key readers on mutated certificates and keys
 * (PEM, DER, base64 of either). Oracles:
 * - readCertificates / readPrivateKey return or throw a PkiError, nothing else;
 * - differential: on every mutated DER that OpenSSL (node:crypto) still parses, the fast DER
 *   reader either declines (undefined) or agrees with the general parser field for field.
 */
import { X509Certificate } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import {
  createDeviceCertificate,
  createIntermediateCa,
  createRootCa,
  createVerificationCertificate,
  PkiError,
  readCertificates,
  readPrivateKey,
} from '@gatehouse/pki';
import { parseFully, readCertificateFields } from '@gatehouse/pki/internals';
import fc from 'fast-check';

import { batches, FuzzRecorder, type FuzzReport } from './fuzz-report.js';
import { mutated } from './mutate.js';

const BATCH = 500;

export interface PkiSeeds {
  certificates: Buffer[];
  keys: Buffer[];
}

/** Certificates of every profile Gatehouse makes (EC and RSA, CA, device, verification) and their keys. */
export async function pkiSeeds(): Promise<PkiSeeds> {
  const root = await createRootCa({ commonName: 'fuzz-root' });
  const intermediate = await createIntermediateCa({
    commonName: 'fuzz-intermediate',
    issuer: root,
    keySpec: { type: 'rsa', bits: 2048 },
  });
  const device = await createDeviceCertificate({
    commonName: 'fuzz-device',
    issuer: intermediate,
    issuerChain: intermediate.chain,
  });
  const selfSigned = await createDeviceCertificate({ commonName: 'fuzz-self-signed' });
  const verification = await createVerificationCertificate({
    nonce: 'A1B2C3D4E5F60718293A4B5C6D7E8F90',
    ca: root,
  });
  const issued = [root, intermediate, device, selfSigned, verification];
  return {
    certificates: issued.map((i) => i.certificate.der),
    keys: issued.slice(0, 3).map((i) => Buffer.from(i.privateKey.toPem())),
  };
}

type Form = 'der' | 'pem' | 'base64' | 'text';

function render(der: Buffer, form: Form): Buffer {
  switch (form) {
    case 'der':
      return der;
    case 'pem':
      return Buffer.from(
        `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`,
      );
    case 'base64':
      return Buffer.from(der.toString('base64'));
    case 'text':
      return der;
  }
}

function sameFields(a: ReturnType<typeof parseFully>, b: ReturnType<typeof parseFully>): string | undefined {
  const pairs: [string, unknown, unknown][] = [
    ['subject', a.subject.text, b.subject.text],
    ['subject CN', a.subject.commonName, b.subject.commonName],
    ['issuer', a.issuer.text, b.issuer.text],
    ['issuer CN', a.issuer.commonName, b.issuer.commonName],
    ['serial', a.serialNumber, b.serialNumber],
    ['notBefore', a.notBefore.getTime(), b.notBefore.getTime()],
    ['notAfter', a.notAfter.getTime(), b.notAfter.getTime()],
    ['isCA', a.isCA, b.isCA],
    ['pathLen', a.pathLen, b.pathLen],
    ['eku', JSON.stringify(a.extendedKeyUsage), JSON.stringify(b.extendedKeyUsage)],
    ['keyUsage', a.keyUsage, b.keyUsage],
    ['ski', a.subjectKeyIdentifier, b.subjectKeyIdentifier],
  ];
  const differ = pairs.filter(([, x, y]) => x !== y);
  return differ.length === 0
    ? undefined
    : differ.map(([n, x, y]) => `${n}: fast ${String(x)} / general ${String(y)}`).join('; ');
}

export async function fuzzPki(o: { runs: number; seed: number; seeds?: PkiSeeds }): Promise<FuzzReport> {
  const seeds = o.seeds ?? (await pkiSeeds());
  const rec = new FuzzRecorder('pki', o.seed);
  const certInput = fc.tuple(
    mutated(fc.constantFrom(...seeds.certificates).map((b) => new Uint8Array(b))),
    fc.constantFrom<Form>('der', 'der', 'pem', 'base64', 'text'),
  );
  const arbitrary = fc.oneof(
    {
      weight: 4,
      arbitrary: certInput.map(([bytes, form]) => ({ what: 'certificate' as const, bytes, form })),
    },
    {
      weight: 1,
      arbitrary: mutated(fc.constantFrom(...seeds.keys).map((b) => new Uint8Array(b))).map((bytes) => ({
        what: 'key' as const,
        bytes,
        form: 'text' as Form,
      })),
    },
  );
  let compared = 0;
  let declined = 0;
  for (const { batch, count, first } of batches(o.runs, BATCH)) {
    const inputs = fc.sample(arbitrary, { numRuns: count, seed: o.seed + batch });
    for (let i = 0; i < inputs.length; i++) {
      const index = first + i;
      const input = inputs[i]!;
      rec.begin(index);
      const t = performance.now();
      const data =
        input.what === 'certificate'
          ? render(Buffer.from(input.bytes), input.form)
          : Buffer.from(input.bytes);
      const asText = input.form === 'text' || input.what === 'key';
      try {
        if (input.what === 'key') readPrivateKey(asText ? data.toString('latin1') : data);
        else readCertificates(asText ? data.toString('latin1') : data);
      } catch (err) {
        if (!(err instanceof PkiError))
          rec.add(
            'non-pki-error',
            err instanceof Error ? `${err.name}: ${err.message}` : String(err),
            index,
            data,
          );
      }
      if (input.what === 'certificate' && input.form === 'der') {
        const der = Buffer.from(input.bytes);
        let opensslAccepts = false;
        try {
          new X509Certificate(der);
          opensslAccepts = true;
        } catch {
          // Not a certificate for OpenSSL: the fast reader is never asked (its precondition).
        }
        if (opensslAccepts) {
          let fast: ReturnType<typeof readCertificateFields>;
          try {
            fast = readCertificateFields(der);
          } catch (err) {
            rec.add('fast-reader-threw', String(err), index, der);
            fast = undefined;
          }
          if (fast === undefined) declined++;
          else {
            compared++;
            try {
              const diff = sameFields(fast, parseFully(der));
              if (diff) rec.add('readers-disagree', diff, index, der);
            } catch (err) {
              rec.add(
                'fast-accepts-general-refuses',
                err instanceof Error ? err.message : String(err),
                index,
                der,
              );
            }
          }
        }
      }
      rec.time(performance.now() - t);
    }
  }
  return rec.finish({ comparedWithGeneralParser: compared, declinedByFastReader: declined });
}
