#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { checkCommand } from './config/check-command.js';

await yargs(hideBin(process.argv))
  .scriptName('tandem')
  .usage('$0 <command> [options]\n\nVRRP/CARP high-availability failover agent for Linux.')
  .command(checkCommand)
  .demandCommand(1, 'name a command: run, check, status or lab')
  .strict()
  .help()
  .version()
  .parseAsync();
