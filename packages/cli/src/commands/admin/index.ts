import type { Command } from 'commander';
import { registerAttemptsCommand } from './attempts.js';
import { registerDeviceCommands } from './device.js';
import { registerGroupCommands } from './group.js';
import { registerImportCommand } from './import.js';
import { registerTokenCommands } from './token.js';

/**
 * The administration commands that talk to a running `gatehouse serve` over its REST API:
 * `group`, `device`, `attempts`, `token` and `import`.
 */
export function registerAdminCommands(program: Command): void {
  registerGroupCommands(program);
  registerDeviceCommands(program);
  registerAttemptsCommand(program);
  registerTokenCommands(program);
  registerImportCommand(program);
}
