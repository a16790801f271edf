/**
 * Every refusal of an mqtt@v1 or amqp@v1 body names its field (a 400 lists them all), good
 * bodies come back normalised, GET's masked form hides the password and private key as IoT
 * Central does ('*****'), and network failures read as words (the DNS case from the error Node
 * gives: a test may not ask a real resolver).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';

import { DeliveryError } from '../src/export/contracts.js';
import { validateAmqpDestination, maskAmqpDestination } from '../src/export/destinations/amqp.js';
import { connectionError } from '../src/export/destinations/connection-errors.js';
import { maskMqttDestination, validateMqttDestination } from '../src/export/destinations/mqtt.js';

const MQTT = {
  type: 'mqtt@v1',
  displayName: 'Plant broker',
  url: 'mqtt://broker.local',
  topic: 'plant/{messageSource}/{deviceId}',
};
const AMQP = {
  type: 'amqp@v1',
  displayName: 'Plant bus',
  url: 'amqp://rabbit.local',
  exchange: 'telemetry',
  routingKey: '{messageSource}.{deviceId}',
};

function fields(r: { problems: { field: string }[] } | { config: unknown }): string[] {
  assert.ok('problems' in r, `expected problems, got ${JSON.stringify(r)}`);
  return r.problems.map((p) => p.field);
}

describe('mqtt@v1 and amqp@v1 bodies', () => {
  let client: Issued;
  let other: Issued;
  before(async () => {
    const root = await createRootCa({ commonName: 'validation-root' });
    client = await createDeviceCertificate({ commonName: 'exporter', issuer: root });
    other = await createDeviceCertificate({ commonName: 'someone-else', issuer: root });
  });

  const mqttRefusals: [string, Record<string, unknown>, string, RegExp][] = [
    ['an invalid URL', { url: 'not a url' }, 'url', /not a valid URL/],
    ['an http URL', { url: 'http://broker.local' }, 'url', /must start with mqtt:\/\/ or mqtts:\/\/; "http"/],
    ['a ws URL', { url: 'ws://broker.local/mqtt' }, 'url', /must start with mqtt:\/\//],
    ['a missing URL', { url: undefined }, 'url', /url is required/],
    ['credentials in the URL', { url: 'mqtt://u:p@broker.local' }, 'url', /put them in authorization/],
    ['a path in the URL', { url: 'mqtt://broker.local/topic' }, 'url', /must not have a path/],
    ['a missing topic', { topic: undefined }, 'topic', /topic is required/],
    ['a blank topic', { topic: '  ' }, 'topic', /must not be blank/],
    ['a wildcard topic', { topic: 'plant/+/x' }, 'topic', /must not contain "\+"/],
    ['a multi-level wildcard', { topic: 'plant/#' }, 'topic', /must not contain "#"/],
    ['an unknown placeholder', { topic: 'plant/{device}' }, 'topic', /unknown placeholder \{device\}/],
    ['qos 2', { qos: 2 }, 'qos', /qos must be 0 or 1/],
    ['qos as a string', { qos: '1' }, 'qos', /qos must be 0 or 1/],
    ['a missing display name', { displayName: undefined }, 'displayName', /displayName is required/],
    ['another type', { type: 'webhook@v1' }, 'type', /type must be mqtt@v1/],
    [
      'a user name without password',
      { authorization: { type: 'userNamePassword', userName: 'u' } },
      'authorization.password',
      /required/,
    ],
    [
      'a password without user name',
      { authorization: { type: 'userNamePassword', password: 'p' } },
      'authorization.userName',
      /required/,
    ],
    [
      'the masked password sent back',
      { authorization: { type: 'userNamePassword', userName: 'u', password: '*****' } },
      'authorization.password',
      /masked value/,
    ],
    [
      'an unknown authorization',
      { authorization: { type: 'oauth' } },
      'authorization.type',
      /none, userNamePassword or clientCertificate/,
    ],
    ['an authorization that is a string', { authorization: 'none' }, 'authorization', /must be an object/],
    [
      'a CA that is not PEM',
      { url: 'mqtts://broker.local', caCertificate: 'hello' },
      'caCertificate',
      /PEM certificate/,
    ],
  ];
  for (const [name, change, field, message] of mqttRefusals) {
    it(`mqtt@v1 refuses ${name}, naming ${field}`, () => {
      const r = validateMqttDestination({ ...MQTT, ...change });
      assert.deepEqual(fields(r), [field]);
      assert.match((r as { problems: { message: string }[] }).problems[0]!.message, message);
    });
  }

  it('mqtt@v1 refuses a client certificate without key, with a foreign key, or over plain mqtt', () => {
    const pem = client.certificate.pem;
    const noKey = validateMqttDestination({
      ...MQTT,
      url: 'mqtts://b',
      authorization: { type: 'clientCertificate', certificate: pem },
    });
    assert.deepEqual(fields(noKey), ['authorization.privateKey']);
    const foreign = validateMqttDestination({
      ...MQTT,
      url: 'mqtts://b',
      authorization: { type: 'clientCertificate', certificate: pem, privateKey: other.privateKey.toPem() },
    });
    assert.deepEqual(fields(foreign), ['authorization.privateKey']);
    const notPem = validateMqttDestination({
      ...MQTT,
      url: 'mqtts://b',
      authorization: { type: 'clientCertificate', certificate: 'x', privateKey: 'y' },
    });
    assert.deepEqual(fields(notPem), ['authorization.certificate', 'authorization.privateKey']);
    const plain = validateMqttDestination({
      ...MQTT,
      authorization: { type: 'clientCertificate', certificate: pem, privateKey: client.privateKey.toPem() },
    });
    assert.deepEqual(fields(plain), ['authorization']);
    const caOverPlain = validateMqttDestination({ ...MQTT, caCertificate: pem });
    assert.deepEqual(fields(caOverPlain), ['caCertificate']);
    assert.deepEqual(fields(validateAmqpDestination({ ...AMQP, caCertificate: pem })), ['caCertificate']);
  });

  it('every problem of one body is listed at once; a non-object body is refused as a whole', () => {
    assert.deepEqual(fields(validateMqttDestination({ type: 'mqtt@v1', qos: 5 })), [
      'displayName',
      'url',
      'topic',
      'qos',
    ]);
    assert.deepEqual(fields(validateMqttDestination([])), ['body']);
    assert.deepEqual(fields(validateAmqpDestination('amqp://x')), ['body']);
  });

  it('a good mqtt@v1 body is normalised (qos 1, no auth = none) and its secrets masked', () => {
    const r = validateMqttDestination({ ...MQTT, url: 'mqtts://broker.local:8883/' });
    assert.ok('config' in r);
    assert.deepEqual(r.config, {
      ...MQTT,
      url: 'mqtts://broker.local:8883',
      qos: 1,
      authorization: { type: 'none' },
    });
    const withPassword = validateMqttDestination({
      ...MQTT,
      qos: 0,
      authorization: { type: 'userNamePassword', userName: 'u', password: 'secret' },
    });
    assert.ok('config' in withPassword);
    assert.deepEqual(maskMqttDestination(withPassword.config).authorization, {
      type: 'userNamePassword',
      userName: 'u',
      password: '*****',
    });
    const withKey = validateMqttDestination({
      ...MQTT,
      url: 'mqtts://broker.local',
      authorization: {
        type: 'clientCertificate',
        certificate: client.certificate.pem,
        privateKey: client.privateKey.toPem(),
      },
    });
    assert.ok('config' in withKey);
    const masked = maskMqttDestination(withKey.config);
    assert.deepEqual(masked['authorization'], {
      type: 'clientCertificate',
      certificate: client.certificate.pem,
      privateKey: '*****',
    });
    assert.doesNotMatch(JSON.stringify(masked), /PRIVATE KEY/);
  });

  const amqpRefusals: [string, Record<string, unknown>, string, RegExp][] = [
    ['an mqtt URL', { url: 'mqtt://broker.local' }, 'url', /must start with amqp:\/\/ or amqps:\/\/; "mqtt"/],
    ['an invalid URL', { url: '://' }, 'url', /not a valid URL/],
    [
      'credentials in the URL',
      { url: 'amqp://guest:guest@rabbit.local' },
      'url',
      /put them in authorization/,
    ],
    ['a missing exchange', { exchange: undefined }, 'exchange', /exchange is required/],
    ['an exchange with spaces', { exchange: 'my exchange' }, 'exchange', /only letters, digits/],
    ['a missing routing key', { routingKey: undefined }, 'routingKey', /routingKey is required/],
    [
      'an unknown placeholder',
      { routingKey: '{templateId}' },
      'routingKey',
      /unknown placeholder \{templateId\}/,
    ],
    [
      'a missing password',
      { authorization: { type: 'userNamePassword', userName: 'u' } },
      'authorization.password',
      /required/,
    ],
    [
      'a CA over plain amqp',
      { caCertificate: '-----BEGIN CERTIFICATE-----' },
      'caCertificate',
      /PEM certificate/,
    ],
  ];
  for (const [name, change, field, message] of amqpRefusals) {
    it(`amqp@v1 refuses ${name}, naming ${field}`, () => {
      const r = validateAmqpDestination({ ...AMQP, ...change });
      assert.deepEqual(fields(r), [field]);
      assert.match((r as { problems: { message: string }[] }).problems[0]!.message, message);
    });
  }

  it('a good amqp@v1 body keeps its virtual host, the default exchange is allowed, the password is masked', () => {
    const r = validateAmqpDestination({
      ...AMQP,
      url: 'amqps://rabbit.local/plant%2Fa',
      exchange: '',
      authorization: { type: 'userNamePassword', userName: 'u', password: 'secret' },
    });
    assert.ok('config' in r);
    assert.equal(r.config.url, 'amqps://rabbit.local/plant%2Fa');
    assert.equal(r.config.exchange, '');
    assert.deepEqual(maskAmqpDestination(r.config)['authorization'], {
      type: 'userNamePassword',
      userName: 'u',
      password: '*****',
    });
  });
});

describe('network failures in words', () => {
  const cases: [string, Record<string, unknown>, RegExp, boolean][] = [
    [
      'DNS: unknown name',
      { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND broker.example' },
      /^DNS: the host name "broker\.example" of the MQTT broker does not resolve/,
      true,
    ],
    [
      'DNS: resolver not answering',
      { code: 'EAI_AGAIN', message: 'getaddrinfo EAI_AGAIN' },
      /^DNS: .* could not be resolved now/,
      false,
    ],
    [
      'refused',
      { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' },
      /^Connection refused by broker\.example:8883/,
      false,
    ],
    [
      'timed out',
      { code: 'ETIMEDOUT', message: 'connect ETIMEDOUT' },
      /^No answer from broker\.example:8883/,
      false,
    ],
    [
      'untrusted certificate',
      { code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'self-signed certificate in certificate chain' },
      /^TLS: .* is not trusted .* give its CA as caCertificate/,
      true,
    ],
    [
      'wrong host name',
      { code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: "Hostname/IP does not match certificate's altnames" },
      /^TLS: .* is not issued for "broker\.example"/,
      true,
    ],
    [
      'expired certificate',
      { code: 'CERT_HAS_EXPIRED', message: 'certificate has expired' },
      /^TLS: .* is not valid now \(CERT_HAS_EXPIRED\)/,
      true,
    ],
    [
      'client certificate missing (OpenSSL text as Node gives it)',
      {
        code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
        message:
          '80FC06D2FF7E0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n',
      },
      /^TLS handshake with broker\.example:8883 failed: the MQTT broker requires a client certificate \(tlsv13 alert certificate required\)\.$/,
      true,
    ],
    [
      'client certificate refused',
      {
        code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
        message: 'x:error:y:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:f.c:1:',
      },
      /refused the client certificate \(sslv3 alert bad certificate\)\.$/,
      true,
    ],
    [
      'another handshake failure',
      {
        code: 'ERR_SSL_WRONG_VERSION_NUMBER',
        message: 'x:error:y:SSL routines:ssl3_get_record:wrong version number:f.c:1:',
      },
      /^TLS handshake with broker\.example:8883 failed: wrong version number\.$/,
      false,
    ],
  ];
  for (const [name, error, words, permanent] of cases) {
    it(name, () => {
      const err = connectionError(
        Object.assign(new Error(String(error['message'])), error),
        'broker.example:8883',
        'MQTT broker',
      );
      assert.ok(err instanceof DeliveryError);
      assert.match(err.message, words);
      assert.equal(err.permanent, permanent);
    });
  }
});
