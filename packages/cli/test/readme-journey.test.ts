/**
 * README.md's journey cannot drift: its marked shell blocks run, in order, as a user types
 * them, against a fresh data folder (helpers/readme-journey-run.ts), and afterwards the REST API
 * holds telemetry from the journey's devices. The extractor's own tests make sure that deleting
 * a marker, or adding an unmarked command to the journey, fails here.
 *
 * The journey serves on 8883 and 443 (the Azure SDK's ports) and 3000, under the lock files
 * of the fixed-port tests, so it waits for them rather than colliding.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { extractJourney, JourneyMarkupError } from './helpers/readme-journey-extract.js';
import { runJourney, type StepResult } from './helpers/readme-journey-run.js';

/** dist/test/readme-journey.test.js → the repository root. */
const ROOT = process.env.GATEHOUSE_REPO_ROOT ?? fileURLToPath(new URL('../../../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The journey's steps, in order, with how each runs. */
const EXPECTED: Array<[string, string]> = [
  ['serve', 'background'],
  ['certificates', 'run'],
  ['group-create', 'run'],
  ['group-rest', 'run'],
  ['sensor-sas', 'run'],
  ['sensor-x509', 'background'],
  ['device-api', 'run'],
  ['live-events', 'run-until'],
  ['individual-enrollment', 'run'],
  ['individual-devices', 'run'],
  ['sas-keys', 'run'],
];

/** The devices the journey runs, and what they must have sent. */
const DEVICES = ['mytestdevice', 'my-sensor', 'mytestprimarycert'];

describe('README journey: the extractor', () => {
  it('finds the journey steps of README.md, in order, with their modes', () => {
    const steps = extractJourney(README);
    assert.deepEqual(
      steps.map((s) => [s.name, s.mode]),
      EXPECTED,
    );
    assert.equal(steps.find((s) => s.name === 'serve')?.text, 'Gatehouse is running.');
    assert.match(steps.find((s) => s.name === 'certificates')?.script ?? '', /^mkdir -p certs && cd certs\n/);
  });

  it('reads markers: options, quoted commas, timeouts, skip, blocks outside the journey', () => {
    const md = [
      '## Quick start',
      '```sh',
      'npm ci   # outside the journey: no marker needed',
      '```',
      '## The journey',
      '<!-- journey: skip -->',
      '```sh',
      'npm ci',
      '```',
      'Some text.',
      '<!--journey: up, background, wait-for "ready, set", timeout 9s-->',
      '',
      '```bash',
      'serve',
      '```',
      '```text',
      'output needs no marker',
      '```',
      '<!-- journey: watch, run-until "event: x" -->',
      '```sh',
      'watch it',
      'and this',
      '```',
      '## Next',
      '```sh',
      'unmarked, after the journey',
      '```',
    ].join('\n');
    assert.deepEqual(extractJourney(md), [
      { name: 'up', mode: 'background', text: 'ready, set', timeoutMs: 9000, line: 11, script: 'serve' },
      {
        name: 'watch',
        mode: 'run-until',
        text: 'event: x',
        timeoutMs: 120_000,
        line: 19,
        script: 'watch it\nand this',
      },
    ]);
  });

  const journey = (...lines: string[]): string => ['## The journey', ...lines].join('\n');
  const refusals: Array<[string, string, RegExp]> = [
    [
      'an unmarked shell block in the journey',
      journey('```sh', 'ls', '```'),
      /:2: this shell block in the journey has no marker/,
    ],
    [
      'a marker before prose',
      journey('<!-- journey: a -->', 'text', '```sh', 'ls', '```'),
      /:2: a marker must be followed by a ```sh block/,
    ],
    [
      'a marker before a non-shell block',
      journey('<!-- journey: a -->', '```text', 'ls', '```'),
      /:2: a marker must be followed/,
    ],
    ['a marker at the end', journey('<!-- journey: a -->'), /:2: a marker must be followed/],
    [
      'two markers in a row',
      journey('<!-- journey: a -->', '<!-- journey: b -->', '```sh', '```'),
      /:2: a marker must be followed/,
    ],
    [
      'a bad step name',
      journey('<!-- journey: Start Here -->', '```sh', '```'),
      /"Start Here" is not a step name/,
    ],
    [
      'an unknown option',
      journey('<!-- journey: a, forever -->', '```sh', '```'),
      /unknown option "forever"/,
    ],
    [
      'wait-for without quotes',
      journey('<!-- journey: a, background, wait-for up -->', '```sh', '```'),
      /unknown option "wait-for up"/,
    ],
    [
      'background without wait-for',
      journey('<!-- journey: a, background -->', '```sh', '```'),
      /background and wait-for "text" go together/,
    ],
    [
      'wait-for without background',
      journey('<!-- journey: a, wait-for "x" -->', '```sh', '```'),
      /background and wait-for "text" go together/,
    ],
    [
      'background and run-until',
      journey('<!-- journey: a, background, wait-for "x", run-until "y" -->', '```sh', '```'),
      /background or run-until, not both/,
    ],
    [
      'skip with options',
      journey('<!-- journey: skip, timeout 5s -->', '```sh', '```'),
      /"skip" takes no options/,
    ],
    [
      'a step name twice',
      journey('<!-- journey: a -->', '```sh', '```', '<!-- journey: a -->', '```sh', '```'),
      /:5: step name "a" is used twice/,
    ],
    ['an unclosed fence', journey('<!-- journey: a -->', '```sh', 'ls'), /:3: unclosed code fence/],
  ];
  for (const [what, md, message] of refusals) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => extractJourney(md),
        (err: unknown) => err instanceof JourneyMarkupError && message.test(err.message),
      );
    });
  }

  it('fails when the README loses a marker', () => {
    const withoutOne = README.replace('<!-- journey: group-create -->\n', '');
    assert.throws(() => extractJourney(withoutOne), /this shell block in the journey has no marker/);
  });
});

describe('README journey: the commands', { concurrency: false }, () => {
  it('runs every step against a fresh data folder, and the devices’ telemetry is stored', async () => {
    const journey = await runJourney({ root: ROOT });
    try {
      const failed = journey.steps.find((s) => !s.ok);
      assert.equal(
        failed,
        undefined,
        failed &&
          `step "${failed.name}" failed: ${failed.reason} (logs in ${journey.workDir}/.journey)\n` +
            `--- its output ---\n${failed.output}`,
      );
      assert.deepEqual(
        journey.steps.map((s) => s.name),
        EXPECTED.map(([name]) => name),
      );
      for (const s of journey.steps.filter((s) => s.mode === 'run')) assert.equal(s.exitCode, 0, s.name);

      const token = readFileSync(join(journey.dataDir, 'admin-token'), 'utf8').trim();
      const get = async (path: string): Promise<{ status: number; body: unknown }> => {
        const res = await fetch(`${journey.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
        return { status: res.status, body: await res.json() };
      };
      for (const id of DEVICES) {
        const temp = await get(`/api/devices/${id}/telemetry/temp`);
        assert.equal(temp.status, 200, `${id}: ${JSON.stringify(temp.body)}`);
        assert.equal(typeof (temp.body as { value?: unknown }).value, 'number', id);
        const history = await get(`/api/devices/${id}/telemetry?name=temp`);
        assert.ok(
          (history.body as { value: unknown[] }).value.length >= 2,
          `${id} sent telemetry every second`,
        );
      }
      // The README's claims, checked against what its commands printed.
      const group = (await get('/api/enrollmentGroups/MyX509Group')).body as {
        attestation?: { x509?: { signingCertificates?: { primary?: { verified?: boolean } } } };
      };
      assert.equal(group.attestation?.x509?.signingCertificates?.primary?.verified, true);
      const [derived, credentials] = (journey.steps.at(-1)?.output ?? '').split('\n');
      assert.ok(
        derived && credentials?.includes(`"primaryKey":"${derived}"`),
        'the derived key is the device key',
      );
      const attestation = await get('/api/devices/mytestprimarycert/attestation');
      assert.equal((attestation.body as { type?: string }).type, 'x509');
      // The how-to's secondary, issued by the self-signed primary, and both provisioning.
      const certOutput = journey.steps.find((s) => s.name === 'individual-enrollment')?.output ?? '';
      assert.match(certOutput, /Note: "mytestprimarycert" is a self-signed device certificate, not a CA/);
      const devicesOutput = journey.steps.find((s) => s.name === 'individual-devices')?.output ?? '';
      assert.equal(
        devicesOutput.match(/Registration succeeded: assigned hub \S+, device ID mytestprimarycert/g)?.length,
        2,
        devicesOutput,
      );
    } finally {
      await journey.stop();
    }
    // Background steps ran until the journey ended; Ctrl+C stopped the server cleanly.
    for (const s of journey.steps.filter((s) => s.mode === 'background'))
      assert.ok(s.ok, `${s.name}: ${s.reason}`);
    assert.match(journey.steps[0]?.output ?? '', /mqtts listener closed/);
    rmSync(journey.workDir, { recursive: true, force: true });
  });
});

describe('README journey: the runner', () => {
  /** Runs a README of `## The journey` plus `md`, without the fixed ports (it starts no server). */
  async function run(md: string): Promise<{ steps: StepResult[]; stopped: StepResult[] }> {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-journey-readme-'));
    const readme = join(dir, 'README.md');
    writeFileSync(readme, `## The journey\n\n${md}\n`);
    const journey = await runJourney({ root: ROOT, readme, fixedPorts: false });
    const steps = journey.steps.map((s) => ({ ...s }));
    await journey.stop();
    rmSync(journey.workDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    return { steps, stopped: journey.steps };
  }
  const block = (marker: string, ...lines: string[]): string =>
    [`<!-- journey: ${marker} -->`, '```sh', ...lines, '```', ''].join('\n');

  it('fails a step at its first failing command, and runs no step after it', async () => {
    const { steps } = await run(block('a', 'echo one', 'false', 'echo never') + block('b', 'echo b'));
    assert.deepEqual(
      steps.map((s) => [s.name, s.ok, s.exitCode, s.reason]),
      [['a', false, 1, 'it exited 1']],
    );
    assert.equal(steps[0]?.output, 'one\n');
  });

  it('carries variables and the working directory from block to block, as one terminal', async () => {
    const { steps } = await run(
      block('a', 'mkdir -p sub && cd sub', 'X=42') +
        block('b', 'test "$X" = 42', 'test "$(basename "$PWD")" = sub', 'echo "$X in $(basename "$PWD")"'),
    );
    assert.deepEqual(
      steps.map((s) => [s.name, s.ok]),
      [
        ['a', true],
        ['b', true],
      ],
    );
    assert.equal(steps[1]?.output, '42 in sub\n');
  });

  it('runs `gatehouse` and `npx gatehouse` from this checkout, and refuses other npx packages', async () => {
    const { steps } = await run(
      block('cli', 'gatehouse --version', 'npx gatehouse --version') + block('other', 'npx cowsay hi'),
    );
    assert.deepEqual(
      steps.map((s) => [s.name, s.ok, s.exitCode]),
      [
        ['cli', true, 0],
        ['other', false, 127],
      ],
    );
    assert.equal(steps[0]?.output, '0.1.0\n0.1.0\n');
    assert.match(steps[1]?.output ?? '', /runs only `npx gatehouse`/);
  });

  it('fails curl on an HTTP error status, and a block on an unset variable', async () => {
    const server = createServer((_req, res) =>
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{}}'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const http = await run(block('http', `curl -s http://127.0.0.1:${port}/api/missing`));
      assert.deepEqual([http.steps[0]?.ok, http.steps[0]?.exitCode], [false, 22]);
      assert.equal(http.steps[0]?.output, '{"error":{}}');
      const unset = await run(block('unset', 'echo "$NOT_SET_BY_ANYONE"'));
      assert.deepEqual([unset.steps[0]?.ok, unset.steps[0]?.exitCode], [false, 1]);
      assert.match(unset.steps[0]?.output ?? '', /NOT_SET_BY_ANYONE: unbound variable/);
    } finally {
      server.close();
    }
  });

  const outcomes: Array<[string, string, boolean, RegExp | undefined]> = [
    ['a run step past its timeout', block('a, timeout 1s', 'sleep 30'), false, /^still running after 1 s$/],
    [
      'a background step that ends before its text shows',
      block('a, background, wait-for "up"', 'echo starting'),
      false,
      /^it exited 0 before "up" showed$/,
    ],
    [
      'a background step whose text never shows',
      block('a, background, wait-for "up", timeout 1s', 'sleep 30'),
      false,
      /^"up" did not show within 1 s$/,
    ],
    [
      'a run-until step whose text shows',
      block('a, run-until "tick"', 'echo tick', 'sleep 30'),
      true,
      undefined,
    ],
    [
      'a run-until step that fails before its text shows',
      block('a, run-until "tick"', 'exit 3'),
      false,
      /^it exited 3 before "tick" showed$/,
    ],
  ];
  for (const [what, md, ok, reason] of outcomes) {
    it(`judges ${what}`, async () => {
      const started = Date.now();
      const { steps } = await run(md);
      assert.equal(steps[0]?.ok, ok, steps[0]?.output);
      if (reason) assert.match(steps[0]?.reason ?? '', reason);
      else assert.equal(steps[0]?.reason, undefined);
      assert.ok(Date.now() - started < 15_000, 'stopped at once, not after the sleep');
    });
  }

  it('keeps background steps running until stop(), which Ctrl+Cs them; one that ended early fails', async () => {
    const { steps, stopped } = await run(
      block('server, background, wait-for "up"', 'echo up', 'sleep 30') +
        block('short, background, wait-for "up"', 'echo up') +
        block('later', 'sleep 0.5'),
    );
    assert.deepEqual(
      steps.map((s) => [s.name, s.ok]),
      [
        ['server', true],
        ['short', true],
        ['later', true],
      ],
    );
    assert.deepEqual(
      stopped.map((s) => [s.name, s.ok, s.signal, s.reason]),
      [
        ['server', true, 'SIGINT', undefined],
        ['short', false, null, 'it exited 0 before the journey ended'],
        ['later', true, null, undefined],
      ],
    );
  });
});
