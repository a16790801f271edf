/**
 * RabbitMQ for tests: the throwaway broker that scripts/test-services.mjs starts (its URL in
 * GATEHOUSE_TEST_AMQP_URL). Without it a suite is skipped with a one-line reason, unless
 * GATEHOUSE_REQUIRE_RABBITMQ=1 (CI), where a missing broker is a failure.
 */
import { readFileSync } from 'node:fs';

export const RABBITMQ_NOT_CONFIGURED =
  'RabbitMQ not configured: set GATEHOUSE_TEST_AMQP_URL (scripts/test-services.mjs starts one; Debian: apt-get install rabbitmq-server)';

const required = process.env['GATEHOUSE_REQUIRE_RABBITMQ'] === '1';

/** The shared test broker's URL (`amqp://guest:guest@127.0.0.1:<port>`), if configured. */
export function testAmqpUrl(): string | undefined {
  return process.env['GATEHOUSE_TEST_AMQP_URL'] || undefined;
}

/** `skip` option for a suite that needs RabbitMQ: the reason when it is absent, or false. */
export function skipWithoutRabbitmq(): string | false {
  if (testAmqpUrl() || required) return false;
  return RABBITMQ_NOT_CONFIGURED;
}

/** The shared test broker's URL, or a failure that says how to get one. */
export function requireAmqpUrl(): string {
  const url = testAmqpUrl();
  if (!url) throw new Error(RABBITMQ_NOT_CONFIGURED);
  return url;
}

/** The shared broker's amqps listener and the PEM of the CA its certificate is issued by. */
export function requireAmqpsBroker(): { url: string; caPem: string } {
  const url = process.env['GATEHOUSE_TEST_AMQPS_URL'];
  const caFile = process.env['GATEHOUSE_TEST_AMQPS_CA'];
  if (!url || !caFile) throw new Error(`${RABBITMQ_NOT_CONFIGURED} (no GATEHOUSE_TEST_AMQPS_URL)`);
  return { url, caPem: readFileSync(caFile, 'utf8') };
}
