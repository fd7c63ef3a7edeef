/**
 * The CLI's first import, so that it runs before any other module is even loaded: from here on SIGUSR1 can no
 * longer start Node's inspector (see signals.ts). Nothing else belongs in this file.
 */
import { guardSignals } from './signals.js';

guardSignals();
