#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { checkCommand } from './daemon/check-command.js';
import { runCommand } from './daemon/run-command.js';
import { statusCommand } from './daemon/status-command.js';
import { labCommand } from '../netns-lab/command.js';

await yargs(hideBin(process.argv))
  .scriptName('tandem')
  .usage('$0 <command> [options]\n\nVRRP/CARP high-availability failover agent for Linux.')
  .command(checkCommand)
  .command(runCommand)
  .command(statusCommand)
  .command(labCommand)
  .demandCommand(1, 'name a command: run, check, status or lab')
  .strict()
  .help()
  .version()
  .parseAsync();
