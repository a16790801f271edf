import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  PkiError,
  PrivateKey,
  createDeviceCertificate,
  createIntermediateCa,
  createRootCa,
  createServerCertificate,
  validateChain,
  type Certificate,
  type ValidateChainOptions,
} from '../src/index.js';
import { DAY, forge, x509 } from './helpers.js';

/** The frozen clock of this file: every validation passes `time`. */
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const at = (days: number): Date => new Date(NOW.getTime() + days * DAY);

// One key for everything, except where a test needs a different one: keeps the file fast.
const key = await PrivateKey.generate();
const otherKey = await PrivateKey.generate();
const root = await createRootCa({ commonName: 'root', key });
const intermediate = await createIntermediateCa({ commonName: 'int', issuer: root, key });
const device = await createDeviceCertificate({
  commonName: 'dev',
  issuer: intermediate,
  issuerChain: intermediate.chain,
  key,
});
const direct = await createDeviceCertificate({ commonName: 'direct', issuer: root, key });
const selfSigned = await createDeviceCertificate({ commonName: 'self', key });

function cns(path: Certificate[]): (string | undefined)[] {
  return path.map((c) => c.subjectCN);
}

test('a leaf signed by the anchor validates as [leaf, root]', () => {
  const result = validateChain({ leaf: direct.certificate, anchors: [root.certificate], time: NOW });
  assert.deepEqual(cns(result.path), ['direct', 'root']);
  assert.equal(result.anchor, root.certificate);
});

test('a leaf validates through a presented intermediate, with or without leaf and root repeated', () => {
  for (const presented of [
    [intermediate.certificate],
    device.chain,
    [root.certificate, intermediate.certificate],
  ]) {
    const result = validateChain({
      leaf: device.certificate,
      presented,
      anchors: [root.certificate],
      time: NOW,
    });
    assert.deepEqual(cns(result.path), ['dev', 'int', 'root']);
  }
});

test('an intermediate can be the anchor (a group on an intermediate), presented or not', () => {
  for (const presented of [[], device.chain]) {
    const result = validateChain({
      leaf: device.certificate,
      presented,
      anchors: [intermediate.certificate],
      time: NOW,
    });
    assert.deepEqual(cns(result.path), ['dev', 'int']);
    assert.equal(result.anchor.subjectCN, 'int');
  }
});

test('a self-signed leaf equal to an anchor validates as [leaf]', () => {
  const result = validateChain({
    leaf: selfSigned.certificate,
    anchors: [root.certificate, selfSigned.certificate],
    time: NOW,
  });
  assert.deepEqual(cns(result.path), ['self']);
  assert.equal(result.anchor, selfSigned.certificate);
});

test('candidate issuers with the same name are all tried: a decoy with another key does not block the path', async () => {
  const decoy = await createIntermediateCa({ commonName: 'int', issuer: root, key: otherKey });
  const result = validateChain({
    leaf: device.certificate,
    presented: [decoy.certificate, intermediate.certificate],
    anchors: [root.certificate],
    time: NOW,
  });
  assert.deepEqual(cns(result.path), ['dev', 'int', 'root']);
  assert.equal(result.path[1], intermediate.certificate);
});

test('an expired duplicate of the intermediate is skipped when a valid one exists', async () => {
  const old = await createIntermediateCa({ commonName: 'int', issuer: root, key, days: 1 });
  const renewed = await createIntermediateCa({ commonName: 'int', issuer: root, key });
  const result = validateChain({
    leaf: device.certificate,
    presented: [old.certificate, renewed.certificate],
    anchors: [root.certificate],
    time: at(30),
  });
  assert.equal(result.path[1], renewed.certificate);
});

test('self-issued certificates do not count against pathLenConstraint (RFC 5280 §6.1.4 (l))', async () => {
  const constrained = await createIntermediateCa({ commonName: 'ca', issuer: root, pathLen: 0 });
  const rollover = await createIntermediateCa({ commonName: 'ca', issuer: constrained, key: otherKey });
  assert.ok(rollover.certificate.isSelfIssued);
  const leaf = await createDeviceCertificate({ commonName: 'leaf', issuer: rollover });
  const result = validateChain({
    leaf: leaf.certificate,
    presented: [rollover.certificate],
    anchors: [constrained.certificate],
    time: NOW,
  });
  assert.deepEqual(cns(result.path), ['leaf', 'ca', 'ca']);
});

test('a leaf without extendedKeyUsage is a client certificate; requireClientAuth: false accepts a server one', async () => {
  const noEku = await forge({ commonName: 'plain', key, issuer: root });
  assert.equal(noEku.extendedKeyUsage, undefined);
  assert.equal(validateChain({ leaf: noEku, anchors: [root.certificate], time: NOW }).path.length, 2);
  const server = await createServerCertificate({ commonName: 'localhost', issuer: root, key });
  const result = validateChain({
    leaf: server.certificate,
    anchors: [root.certificate],
    time: NOW,
    requireClientAuth: false,
  });
  assert.equal(result.path.length, 2);
});

test('maxDepth counts leaf and anchor', () => {
  const options = {
    leaf: device.certificate,
    presented: [intermediate.certificate],
    anchors: [root.certificate],
    time: NOW,
  };
  assert.equal(validateChain({ ...options, maxDepth: 3 }).path.length, 3);
  assert.throws(() => validateChain({ ...options, maxDepth: 0 }), RangeError);
});

// ---------------------------------------------------------------------------------------------
// Refusals: every code validateChain can raise, with the certificate it must name.

const shortRoot = await createRootCa({ commonName: 'short root', key, days: 10 });
const shortRootLeaf = await createDeviceCertificate({
  commonName: 'dev of short root',
  issuer: shortRoot,
  key,
});
const shortInt = await createIntermediateCa({ commonName: 'short int', issuer: root, key, days: 1 });
const shortIntLeaf = await createDeviceCertificate({ commonName: 'dev of short int', issuer: shortInt, key });
const expiredLeaf = await createDeviceCertificate({
  commonName: 'old dev',
  issuer: root,
  key,
  notBefore: at(-10),
  days: 1,
});
const futureLeaf = await createDeviceCertificate({
  commonName: 'future dev',
  issuer: root,
  key,
  notBefore: at(10),
});
const futureInt = await createIntermediateCa({
  commonName: 'future int',
  issuer: root,
  key,
  notBefore: at(10),
});
const futureIntLeaf = await createDeviceCertificate({
  commonName: 'dev of future int',
  issuer: futureInt,
  key,
});
const impostorRoot = await createRootCa({ commonName: 'root', key: otherKey });
const unrelatedRoot = await createRootCa({ commonName: 'unrelated', key: otherKey });
const leafAsIssuer = await forge({ commonName: 'issued by a leaf', key, issuer: direct });
const signingOnlyCa = await forge({
  commonName: 'signing-only ca',
  key,
  issuer: root,
  extensions: [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
  ],
});
const underSigningOnly = await forge({
  commonName: 'under signing-only',
  key,
  issuer: { certificate: signingOnlyCa, privateKey: key, chain: [] },
});
const pathLenZero = await createIntermediateCa({ commonName: 'pathlen0', issuer: root, key, pathLen: 0 });
const belowPathLen = await createIntermediateCa({ commonName: 'below pathlen0', issuer: pathLenZero, key });
const tooFarLeaf = await createDeviceCertificate({ commonName: 'too far', issuer: belowPathLen, key });
const serverLeaf = await createServerCertificate({ commonName: 'a server', issuer: root, key });
const int2 = await createIntermediateCa({ commonName: 'int2', issuer: intermediate, key });
const deepLeaf = await createDeviceCertificate({ commonName: 'deep', issuer: int2, key });

const REFUSALS: [string, ValidateChainOptions, string, RegExp][] = [
  [
    'an expired leaf',
    { leaf: expiredLeaf.certificate, anchors: [root.certificate], time: NOW },
    'ERR_PKI_EXPIRED',
    /^The certificate "old dev" expired on /,
  ],
  [
    'an expired intermediate',
    {
      leaf: shortIntLeaf.certificate,
      presented: [shortInt.certificate],
      anchors: [root.certificate],
      time: at(30),
    },
    'ERR_PKI_EXPIRED',
    /^The intermediate certificate "short int" expired on /,
  ],
  [
    'an expired anchor',
    { leaf: shortRootLeaf.certificate, anchors: [shortRoot.certificate], time: at(30) },
    'ERR_PKI_EXPIRED',
    /^The trusted certificate "short root" expired on /,
  ],
  [
    'a self-signed anchor leaf that expired',
    { leaf: selfSigned.certificate, anchors: [selfSigned.certificate], time: at(400) },
    'ERR_PKI_EXPIRED',
    /"self"/,
  ],
  [
    'a leaf not yet valid',
    { leaf: futureLeaf.certificate, anchors: [root.certificate], time: NOW },
    'ERR_PKI_NOT_YET_VALID',
    /^The certificate "future dev" is not valid before /,
  ],
  [
    'an intermediate not yet valid',
    {
      leaf: futureIntLeaf.certificate,
      presented: [futureInt.certificate],
      anchors: [root.certificate],
      time: at(1),
    },
    'ERR_PKI_NOT_YET_VALID',
    /"future int"/,
  ],
  [
    'an anchor with the issuer name but another key',
    { leaf: direct.certificate, anchors: [impostorRoot.certificate], time: NOW },
    'ERR_PKI_BAD_SIGNATURE',
    /^The signature of "direct" does not verify with the public key of "root"/,
  ],
  [
    'an issuer without basicConstraints',
    { leaf: leafAsIssuer, presented: [direct.certificate], anchors: [root.certificate], time: NOW },
    'ERR_PKI_ISSUER_NOT_CA',
    /"direct" issued "issued by a leaf" but is not a CA certificate/,
  ],
  [
    'an issuer whose keyUsage lacks keyCertSign',
    { leaf: underSigningOnly, presented: [signingOnlyCa], anchors: [root.certificate], time: NOW },
    'ERR_PKI_ISSUER_NOT_CA',
    /"signing-only ca" .*keyCertSign/,
  ],
  [
    'a CA below a pathLen 0 CA',
    {
      leaf: tooFarLeaf.certificate,
      presented: [belowPathLen.certificate, pathLenZero.certificate],
      anchors: [root.certificate],
      time: NOW,
    },
    'ERR_PKI_PATH_LENGTH_EXCEEDED',
    /"pathlen0" allows at most 0 intermediate certificate\(s\) below it, but the chain has 1/,
  ],
  [
    'an unrelated anchor',
    { leaf: direct.certificate, anchors: [unrelatedRoot.certificate], time: NOW },
    'ERR_PKI_NO_PATH',
    /"direct"/,
  ],
  [
    'a missing intermediate',
    { leaf: device.certificate, anchors: [root.certificate], time: NOW },
    'ERR_PKI_NO_PATH',
    /^The chain of "dev" does not reach a trusted certificate: the issuer "CN=int" of "dev"/,
  ],
  ['no anchors at all', { leaf: direct.certificate, anchors: [], time: NOW }, 'ERR_PKI_NO_PATH', /"direct"/],
  [
    'a self-signed leaf that is not an anchor',
    { leaf: selfSigned.certificate, anchors: [root.certificate], time: NOW },
    'ERR_PKI_NO_PATH',
    /"self"/,
  ],
  [
    'a server certificate as client',
    { leaf: serverLeaf.certificate, anchors: [root.certificate], time: NOW },
    'ERR_PKI_NOT_CLIENT_AUTH',
    /^The certificate "a server" may not be used for client authentication/,
  ],
  [
    'a path longer than maxDepth',
    {
      leaf: deepLeaf.certificate,
      presented: [int2.certificate, intermediate.certificate],
      anchors: [root.certificate],
      time: NOW,
      maxDepth: 3,
    },
    'ERR_PKI_CHAIN_TOO_DEEP',
    /^The chain of "deep" has 4 certificates, more than the 3 allowed\.$/,
  ],
];

for (const [name, options, code, message] of REFUSALS) {
  test(`validateChain refuses ${name} with ${code}`, () => {
    assert.throws(
      () => validateChain(options),
      (err: unknown) => {
        assert.ok(err instanceof PkiError, String(err));
        assert.equal(err.code, code, err.message);
        assert.match(err.message, message);
        assert.match(err.message, /\.$/);
        assert.ok(err.detail && typeof err.detail['certificate'] === 'string');
        return true;
      },
    );
  });
}

test('the most specific error wins: an expired intermediate next to a decoy is EXPIRED, naming it', async () => {
  const decoy = await createIntermediateCa({ commonName: 'short int', issuer: root, key: otherKey });
  assert.throws(
    () =>
      validateChain({
        leaf: shortIntLeaf.certificate,
        presented: [decoy.certificate, shortInt.certificate],
        anchors: [root.certificate],
        time: at(30),
      }),
    (err: unknown) =>
      err instanceof PkiError &&
      err.code === 'ERR_PKI_EXPIRED' &&
      err.detail?.['certificate'] === 'short int',
  );
});

test('a constraint failure on a complete path beats a missing issuer on another', async () => {
  // Two intermediates named "int": one leads to a root that is not trusted, the other is expired.
  const otherRoot = await createRootCa({ commonName: 'elsewhere', key: otherKey });
  const dangling = await createIntermediateCa({ commonName: 'short int', issuer: otherRoot, key });
  assert.throws(
    () =>
      validateChain({
        leaf: shortIntLeaf.certificate,
        presented: [dangling.certificate, shortInt.certificate],
        anchors: [root.certificate],
        time: at(30),
      }),
    { code: 'ERR_PKI_EXPIRED' },
  );
});
