/**
 * Who may use a new server, made under the start-up lock (server.ts): the administrator token,
 * the web UI's first user and its sign-in sessions, and the default dashboard. A generated
 * secret is returned once and kept in a 0600 file of the data folder.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiTokenService } from './api/index.js';
import { DashboardService } from './app/dashboards.js';
import { SessionService } from './app/sessions.js';
import { UserService } from './app/users.js';
import type { ServerNode } from './server-store.js';

export interface ServerAccounts {
  tokens: ApiTokenService;
  bootstrap: Awaited<ReturnType<ApiTokenService['ensureBootstrapToken']>>;
  adminTokenPath: string;
  users: UserService;
  sessions: SessionService;
  adminUser: Awaited<ReturnType<UserService['ensureAdminUser']>>;
  adminPasswordPath: string;
  dashboards: DashboardService;
}

export async function wireAccounts(node: ServerNode): Promise<ServerAccounts> {
  const { options, dataDir, db, bus, closers } = node;
  const tokens = new ApiTokenService(db, { hostName: options.hostName });
  const bootstrap = await tokens.ensureBootstrapToken(options.adminToken);
  const adminTokenPath = join(dataDir, 'admin-token');
  if (bootstrap.secret !== undefined || options.adminToken !== undefined) {
    await writeFile(adminTokenPath, (bootstrap.secret ?? options.adminToken) + '\n', { mode: 0o600 });
    await chmod(adminTokenPath, 0o600);
  }

  // The web UI's first user, like the token above: printed once, kept in a 0600 file.
  const users = new UserService(db);
  const sessions = new SessionService(db, users, {
    limits: options.signInLimits ?? {},
    ...(options.sessionIdleTimeoutMs !== undefined ? { idleTimeoutMs: options.sessionIdleTimeoutMs } : {}),
  });
  if (bus) {
    await users.sessionEnds.attach(bus);
    closers.unshift(() => users.sessionEnds.detach());
  }
  const adminUser = await users.ensureAdminUser(
    options.adminPassword !== undefined ? { password: options.adminPassword } : {},
  );
  const adminPasswordPath = join(dataDir, 'admin-password');
  if (adminUser.password !== undefined) {
    await writeFile(adminPasswordPath, adminUser.password + '\n', { mode: 0o600 });
    await chmod(adminPasswordPath, 0o600);
  }
  const dashboards = new DashboardService(db);
  await dashboards.ensureDefault();
  return { tokens, bootstrap, adminTokenPath, users, sessions, adminUser, adminPasswordPath, dashboards };
}
