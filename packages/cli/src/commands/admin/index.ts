import type { Command } from 'commander';
import { registerAttemptsCommand } from './attempts.js';
import { registerDeviceCommands } from './device.js';
import { registerDeviceGroupCommands } from './device-group.js';
import { registerGroupCommands } from './group.js';
import { registerImportCommand } from './import.js';
import { registerJobCommands } from './job.js';
import { registerTokenCommands } from './token.js';

/**
 * The administration commands that talk to a running `gatehouse serve` over its REST API:
 * `group` (enrollment groups), `device`, `device-group` (device groups), `job`, `attempts`,
 * `token` and `import`.
 */
export function registerAdminCommands(program: Command): void {
  registerGroupCommands(program);
  registerDeviceCommands(program);
  registerDeviceGroupCommands(program);
  registerJobCommands(program);
  registerAttemptsCommand(program);
  registerTokenCommands(program);
  registerImportCommand(program);
}
