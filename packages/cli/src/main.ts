#!/usr/bin/env node
import 'reflect-metadata';
import { Command } from 'commander';
import { registerCertCommands } from './commands/cert/index.js';
import { registerAdminCommands } from './commands/admin/index.js';
import { registerKeysCommands } from './commands/keys.js';
import { registerServeCommand } from './commands/serve.js';
import { registerSimulateCommand } from './commands/simulate/index.js';
import { registerStoreCommands } from './commands/store.js';
import { runMain } from './output.js';

const program = new Command();
program
  .name('gatehouse')
  .description('Gatehouse: a self-hosted IoT platform, wire-compatible with the Azure IoT device SDKs')
  .version('0.1.0')
  .showHelpAfterError();

registerCertCommands(program);
registerKeysCommands(program);
registerServeCommand(program);
registerAdminCommands(program);
registerSimulateCommand(program);
registerStoreCommands(program);

await runMain(program, process.argv);
