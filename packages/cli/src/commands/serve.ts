import type { Command } from 'commander';
import { Option } from 'commander';
import type { RunningServer } from '@gatehouse/server';
import { SERVER_DEFAULTS } from '../server-defaults.js';
import { CliError } from '../output.js';

const BACKLOG_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `--export-backlog`: how old an undelivered export message may get before it is dropped
 * (counted): `24h`, `90m`, `3600s`, `2d` or a bare number of hours; undefined when not one.
 */
export function parseBacklog(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * (BACKLOG_UNITS[m[2] || 'h'] ?? 0);
  return ms > 0 && Number.isFinite(ms) ? ms : undefined;
}
import {
  checkClusterOptions,
  clusterServerOptions,
  nodeIdOption,
  redisUrlOption,
  type ClusterFlags,
} from './serve-cluster.js';
import { limitOptions, limitServerOptions, type LimitFlags } from './serve-limits.js';
import { webOptions, webServerOptions, type WebFlags } from './serve-web.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CliError('ERR_CLI_INVALID_OPTION', `'${value}' is not a TCP port (0–65535).`);
  return n;
}

interface ServeFlags extends ClusterFlags, WebFlags, LimitFlags {
  data: string;
  hostName: string;
  bind: string;
  mqttPort: number;
  httpPort: number;
  httpsPort: number;
  tlsCert?: string;
  tlsKey?: string;
  logLevel: string;
  dpsRetryAfter: number;
  retentionDays: number;
  rollupRetentionDays: number;
  auditRetentionDays: number;
  databaseUrl?: string;
  proxyProtocol?: 'v2';
  proxyTrusted?: string[];
  drainRate: number;
  idScope?: string;
  tlsMinVersion: 'TLSv1.2' | 'TLSv1.3';
  tlsMaxVersion: 'TLSv1.2' | 'TLSv1.3';
  exportBacklog?: number;
  smtpUrl?: string;
  smtpFrom?: string;
}

/** `--smtp-url`: an smtp: or smtps: URL with a host, refused in words otherwise. */
export function smtpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(
      'ERR_CLI_INVALID_OPTION',
      `--smtp-url: '${value}' is not a URL; use smtp://user:pass@host:587.`,
    );
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new CliError(
      'ERR_CLI_INVALID_OPTION',
      `--smtp-url: the scheme must be smtp or smtps, not ${url.protocol.replace(':', '')}.`,
    );
  }
  if (url.hostname === '')
    throw new CliError('ERR_CLI_INVALID_OPTION', `--smtp-url: '${value}' names no host.`);
  return value;
}

/** The lines a user needs after start: where things listen, the ID scope, how devices trust us. */
export function banner(s: RunningServer): string {
  const host = s.hostName;
  const lines = [
    '',
    'Gatehouse is running.',
    `  Web UI               http://${host}:${s.http.port}/  (sign in as admin)`,
    `  REST API             http://${host}:${s.http.port}/api  (OpenAPI at /api/openapi.json)`,
    `  Devices (MQTT/TLS)   mqtts://${host}:${s.mqtt.port}  (DPS and hub on one listener)`,
    s.https
      ? `  Devices (HTTPS, WSS)  https://${host}:${s.https.port}  (and wss://${host}:${s.https.port}/$iothub/websocket)`
      : `  Devices (HTTPS, WSS)  not listening: ${s.httpsError ?? 'unknown error'}`,
    `  ID scope             ${s.idScope}`,
  ];
  if (s.serverCaPath) {
    lines.push(`  Server CA            ${s.serverCaPath}`);
    lines.push(`  Devices trust it with:`);
    lines.push(`    NODE_EXTRA_CA_CERTS=${s.serverCaPath}`);
  }
  if (s.generatedAdminToken) {
    lines.push(`  Administrator API token (shown once; also saved in ${s.adminTokenPath}, mode 0600):`);
    lines.push(`    ${s.generatedAdminToken}`);
    lines.push(`  Use it as:  Authorization: Bearer <token>`);
  } else {
    lines.push(`  Administrator API token: in ${s.adminTokenPath} (or GATEHOUSE_ADMIN_TOKEN)`);
  }
  if (s.generatedAdminPassword) {
    lines.push(
      `  Web UI sign-in: user admin, password (shown once; also saved in ${s.adminPasswordPath}, mode 0600):`,
    );
    lines.push(`    ${s.generatedAdminPassword}`);
  } else {
    lines.push(
      `  Web UI sign-in: user admin, password in ${s.adminPasswordPath} (or GATEHOUSE_ADMIN_PASSWORD)`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

export function registerServeCommand(program: Command): void {
  const serve = program
    .command('serve')
    .description('run Gatehouse: provisioning (DPS), the device hub and the REST API, in one process')
    .addOption(
      new Option('--data <dir>', 'data folder (database, server CA, keys)')
        .env('GATEHOUSE_DATA')
        .default(SERVER_DEFAULTS.dataDir),
    )
    .addOption(
      new Option('--host-name <name>', 'host name devices use; returned to them as assignedHub')
        .env('GATEHOUSE_HOST_NAME')
        .default(SERVER_DEFAULTS.hostName),
    )
    .addOption(
      new Option('--bind <address>', 'address to listen on')
        .env('GATEHOUSE_BIND')
        .default(SERVER_DEFAULTS.bindHost),
    )
    .addOption(
      new Option('--mqtt-port <port>', 'MQTT over TLS port (the Azure SDKs use 8883)')
        .env('GATEHOUSE_MQTT_PORT')
        .default(SERVER_DEFAULTS.mqttPort)
        .argParser(port),
    )
    .addOption(
      new Option('--http-port <port>', 'web UI and REST API port')
        .env('GATEHOUSE_HTTP_PORT')
        .default(SERVER_DEFAULTS.httpPort)
        .argParser(port),
    )
    .addOption(
      new Option('--https-port <port>', 'HTTPS device APIs and MQTT over WebSockets (the Azure SDKs use 443)')
        .env('GATEHOUSE_HTTPS_PORT')
        .default(SERVER_DEFAULTS.httpsPort)
        .argParser(port),
    )
    .addOption(
      new Option('--tls-cert <file>', 'your own server certificate (PEM, with its chain)').env(
        'GATEHOUSE_TLS_CERT',
      ),
    )
    .addOption(new Option('--tls-key <file>', 'the private key of --tls-cert').env('GATEHOUSE_TLS_KEY'))
    .addOption(redisUrlOption())
    .addOption(nodeIdOption())
    .addOption(
      new Option('--log-level <level>', 'fatal, error, warn, info, debug or trace')
        .env('GATEHOUSE_LOG_LEVEL')
        .default(SERVER_DEFAULTS.logLevel)
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    )
    .addOption(
      new Option('--dps-retry-after <seconds>', 'seconds a provisioning device waits before polling')
        .env('GATEHOUSE_DPS_RETRY_AFTER')
        .default(SERVER_DEFAULTS.dpsRetryAfterSeconds)
        .argParser(Number),
    )
    .addOption(
      new Option('--retention-days <days>', 'days raw telemetry messages (and their minute rollups) are kept')
        .env('GATEHOUSE_RETENTION_DAYS')
        .default(30)
        .argParser(positiveDays),
    )
    .addOption(
      new Option(
        '--rollup-retention-days <days>',
        'days the hourly rollups of numeric telemetry are kept (series over long windows)',
      )
        .env('GATEHOUSE_ROLLUP_RETENTION_DAYS')
        .default(365)
        .argParser(positiveDays),
    )
    .addOption(
      new Option('--audit-retention-days <days>', 'days audit log entries are kept (IoT Central keeps 30)')
        .env('GATEHOUSE_AUDIT_RETENTION_DAYS')
        .default(30)
        .argParser(positiveDays),
    )
    .addOption(
      new Option(
        '--database-url <url>',
        'PostgreSQL (postgres://USER@HOST:PORT/DB) shared by every node, instead of SQLite in --data',
      ).env('GATEHOUSE_DATABASE_URL'),
    )
    .addOption(
      new Option(
        '--proxy-protocol <version>',
        'device ports (MQTT/TLS, HTTPS/WSS) expect a PROXY header before TLS from --proxy-trusted peers (HAProxy send-proxy-v2)',
      )
        .env('GATEHOUSE_PROXY_PROTOCOL')
        .choices(['v2']),
    )
    .addOption(
      new Option(
        '--proxy-trusted <cidr>',
        'load balancer addresses allowed to send the PROXY header (repeatable or comma-separated)',
      )
        .env('GATEHOUSE_PROXY_TRUSTED')
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]),
    )
    .addOption(
      new Option('--drain-rate <n>', 'on SIGTERM, devices disconnected per second while draining')
        .env('GATEHOUSE_DRAIN_RATE')
        .default(500)
        .argParser((v) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n < 1)
            throw new CliError(
              'ERR_CLI_INVALID_OPTION',
              `'${v}' is not a positive whole number of devices per second.`,
            );
          return n;
        }),
    )
    .addOption(
      new Option(
        '--export-backlog <age>',
        'data export: undelivered messages older than this are dropped (24h, 90m, 2d)',
      )
        .env('GATEHOUSE_EXPORT_BACKLOG')
        .argParser((v) => {
          const ms = parseBacklog(v);
          if (ms === undefined)
            throw new CliError('ERR_CLI_INVALID_OPTION', `'${v}' is not a duration such as 24h, 90m or 2d.`);
          return ms;
        }),
    )
    .addOption(
      new Option(
        '--id-scope <scope>',
        'ID scope of a new database (e.g. your Azure DPS scope, so devices keep it); refused if the database has another',
      ).env('GATEHOUSE_ID_SCOPE'),
    )
    .addOption(
      new Option(
        '--tls-min-version <version>',
        'lowest TLS version of the device ports (TLSv1.3: a TLS 1.3-only listener)',
      )
        .env('GATEHOUSE_TLS_MIN_VERSION')
        .choices(['TLSv1.2', 'TLSv1.3'])
        .default('TLSv1.2'),
    )
    .addOption(
      new Option(
        '--tls-max-version <version>',
        'highest TLS version of the device ports (TLSv1.2: a TLS 1.2-only listener)',
      )
        .env('GATEHOUSE_TLS_MAX_VERSION')
        .choices(['TLSv1.2', 'TLSv1.3'])
        .default('TLSv1.3'),
    )
    .addOption(
      new Option(
        '--smtp-url <url>',
        "SMTP server of the rules' e-mail actions: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://…:465",
      )
        .env('GATEHOUSE_SMTP_URL')
        .argParser(smtpUrl),
    )
    .addOption(
      new Option('--smtp-from <address>', "sender of the rules' e-mails (default gatehouse@<host name>)").env(
        'GATEHOUSE_SMTP_FROM',
      ),
    )
    .addOption(webOptions().signInIpLimit)
    .addOption(webOptions().signInAccountLimit)
    .addOption(webOptions().sessionIdleTimeout)
    .addOption(webOptions().httpTrustProxy)
    .action(async (flags: ServeFlags) => {
      checkClusterOptions(flags);
      // Loaded on demand: `gatehouse cert …` should not pay for the whole server.
      const { startServer } = await import('@gatehouse/server');
      const server = await startServer({
        dataDir: flags.data,
        hostName: flags.hostName,
        bindHost: flags.bind,
        mqttPort: flags.mqttPort,
        httpPort: flags.httpPort,
        httpsPort: flags.httpsPort,
        logLevel: flags.logLevel,
        dpsRetryAfterSeconds: flags.dpsRetryAfter,
        retentionDays: flags.retentionDays,
        rollupRetentionDays: flags.rollupRetentionDays,
        tlsVersions: { minVersion: flags.tlsMinVersion, maxVersion: flags.tlsMaxVersion },
        ...limitServerOptions(flags),
        auditRetentionDays: flags.auditRetentionDays,
        ...(flags.databaseUrl ? { databaseUrl: flags.databaseUrl } : {}),
        drainRatePerSecond: flags.drainRate,
        ...(flags.proxyProtocol ? { proxyProtocol: flags.proxyProtocol } : {}),
        ...(flags.proxyTrusted ? { proxyTrusted: flags.proxyTrusted } : {}),
        ...(flags.idScope !== undefined ? { idScope: flags.idScope } : {}),
        ...(flags.exportBacklog !== undefined ? { exportBacklogMs: flags.exportBacklog } : {}),
        ...(flags.smtpUrl !== undefined ? { smtpUrl: flags.smtpUrl } : {}),
        ...(flags.smtpFrom !== undefined ? { smtpFrom: flags.smtpFrom } : {}),
        ...(flags.tlsCert ? { tlsCertFile: flags.tlsCert } : {}),
        ...(flags.tlsKey ? { tlsKeyFile: flags.tlsKey } : {}),
        ...clusterServerOptions(flags),
        ...webServerOptions(flags),
        ...(process.env['GATEHOUSE_ADMIN_TOKEN'] ? { adminToken: process.env['GATEHOUSE_ADMIN_TOKEN'] } : {}),
        ...(process.env['GATEHOUSE_ADMIN_PASSWORD']
          ? { adminPassword: process.env['GATEHOUSE_ADMIN_PASSWORD'] }
          : {}),
      }).catch((err: unknown) => {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EADDRINUSE' || e.code === 'EACCES') {
          throw new CliError(
            'ERR_CLI_LISTEN',
            `cannot listen: ${e.message}. Another process holds the port, or it needs privileges; choose another with --mqtt-port/--http-port.`,
          );
        }
        throw err;
      });
      process.stdout.write(banner(server) + '\n');
      await new Promise<void>((resolveStop) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          server.logger.info({ signal }, 'stopping: closing listeners and finishing in-flight work');
          // SIGTERM (an orchestrator, a rolling restart) drains: /readyz fails, devices leave
          // at --drain-rate. Ctrl-C stops at once.
          (signal === 'SIGTERM' ? server.drain() : server.close()).then(
            () => resolveStop(),
            (err: unknown) => {
              server.logger.error({ err }, 'error while stopping');
              resolveStop();
            },
          );
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
  for (const option of limitOptions()) serve.addOption(option);
}

function positiveDays(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new CliError('ERR_CLI_INVALID_OPTION', `'${v}' is not a positive number of days.`);
  return n;
}
