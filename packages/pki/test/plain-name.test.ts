// The plain-name reader against @peculiar/x509's Name: for every name it reads, the text, the
// CN and the comparison key are the general parser's; every other name is left to that parser.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nameFacts } from '../src/certificate-fields.js';
import { readTlv } from '../src/der.js';
import { readPlainName } from '../src/plain-name.js';
import { x509 } from '../src/webcrypto.js';

function der(name: x509.Name): Uint8Array {
  return new Uint8Array(name.toArrayBuffer());
}

function read(bytes: Uint8Array) {
  return readPlainName(bytes, readTlv(bytes, 0, bytes.length));
}

function general(bytes: Uint8Array) {
  const { text, commonName, key } = nameFacts(new x509.Name(bytes));
  return { text, commonName, key };
}

const PLAIN: string[] = [
  'CN=mytestdevice',
  'CN=bench-device-42',
  'C=DE, ST=Berlin, L=Berlin, O=Example GmbH, OU=Devices, CN=device-1',
  'CN=outer, CN=inner',
  'CN=Mixed  Case   Spaces',
  'E=ops@example.com, CN=a#b=c',
  'DC=example, DC=com, CN=x',
  'G=Ada, SN=Lovelace, T=Dr, I=AL',
  "CN=(it's) [ok] {yes} ~|^_`!?*&%$/:",
];

for (const text of PLAIN) {
  test(`plain name '${text}' reads as the general parser reads it`, () => {
    const bytes = der(new x509.Name(text));
    const plain = read(bytes);
    assert.ok(plain, 'takes the plain path');
    assert.deepEqual(plain, general(bytes));
  });
}

/** `SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, <tag> value } } }`, built by hand. */
function commonNameDer(tag: number, value: string): Uint8Array {
  const v = Buffer.from(value, 'utf8');
  const atv = Buffer.concat([Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03, tag, v.length]), v]);
  const set = Buffer.concat([Buffer.from([0x30, atv.length]), atv]);
  const rdn = Buffer.concat([Buffer.from([0x31, set.length]), set]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x30, rdn.length]), rdn]));
}

test('UTF8String and IA5String with ASCII read as PrintableString does, with the same key', () => {
  const printable = commonNameDer(0x13, 'Device 7');
  const utf8 = commonNameDer(0x0c, 'Device 7');
  const ia5 = commonNameDer(0x16, 'DEVICE  7');
  for (const bytes of [printable, utf8, ia5]) assert.deepEqual(read(bytes), general(bytes));
  assert.equal(read(utf8)!.key, read(printable)!.key);
  assert.equal(read(ia5)!.key, read(printable)!.key);
});

test('other string types (TeletexString, BMPString, NumericString) are left to the general parser', () => {
  assert.equal(read(commonNameDer(0x14, 'teletex')), undefined);
  assert.equal(read(commonNameDer(0x12, '1234')), undefined);
  assert.equal(read(commonNameDer(0x1e, '\0a')), undefined);
});

const NOT_PLAIN: Array<[string, x509.Name]> = [
  ['a multi-valued RDN', new x509.Name('O=Example, CN=dev+OU=lab')],
  ['a comma to escape', new x509.Name('O=Smith\\, Jones, CN=x')],
  ['a plus to escape', new x509.Name('CN=a\\+b')],
  ['a quote', new x509.Name('CN=a\\"b')],
  ['a semicolon', new x509.Name('CN=a\\;b')],
  ['angle brackets', new x509.Name('CN=a\\<b\\>')],
  ['a leading #', new x509.Name('CN=\\#hash')],
  ['a leading space', new x509.Name('CN=\\ padded')],
  ['a trailing space', new x509.Name('CN=padded\\ ')],
  ['non-ASCII', new x509.Name('CN=Gerät')],
  ['a type without a short name', new x509.Name('2.5.4.5=1234, CN=x')],
  ['an empty value', new x509.Name('CN=')],
];

for (const [label, name] of NOT_PLAIN) {
  test(`a name with ${label} is left to the general parser`, () => {
    const bytes = der(name);
    assert.equal(read(bytes), undefined);
    // The general parser still reads it (and the certificate fast path then uses its result).
    assert.equal(typeof general(bytes).text, 'string');
  });
}
