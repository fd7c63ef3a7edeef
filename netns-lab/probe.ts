/**
 * The client probe (inside the client namespace): sends a numbered UDP request to each target every
 * INTERVAL_MS and prints one line per answer, `FAMILY SEQ TIME NAME` (TIME in epoch ms with fractions,
 * NAME the balancer that answered), as it arrives. Every answer is kept, so two balancers answering the same
 * request (split brain seen by the client) shows as the same SEQ twice.
 *
 *   node netns-lab/probe.ts INTERVAL_MS PORT TARGET...      (prints "ready" once the sockets are bound)
 */
import { isIPv6 } from 'node:net';
import DgramAsPromised from 'dgram-as-promised';
import { now } from './clock.js';

const [intervalText, portText, ...targets] = process.argv.slice(2);
const intervalMs = Number(intervalText);
const port = Number(portText);
if (!(intervalMs >= 1 && intervalMs <= 5) || !Number.isInteger(port) || targets.length === 0) {
  process.stderr.write('usage: probe INTERVAL_MS(1-5) PORT TARGET...\n');
  process.exit(2);
}

const probes = await Promise.all(
  targets.map(async (target) => {
    const family = isIPv6(target) ? 6 : 4;
    const socket = DgramAsPromised.createSocket(family === 6 ? 'udp6' : 'udp4');
    await socket.bind(0);
    return { target, family, socket };
  }),
);
process.stdout.write('ready\n');
process.on('SIGTERM', () => process.exit(0));

for (const { family, socket } of probes) {
  void (async () => {
    for await (const { msg } of socket) {
      const [name, seq] = msg.toString().split(' ');
      process.stdout.write(`${family} ${seq} ${now().toFixed(3)} ${name}\n`);
    }
  })();
}

let seq = 0;
const timer = setInterval(() => {
  seq++;
  for (const { target, socket } of probes) {
    // No route or no ARP answer yet is part of what the probe measures: drop the error, keep sending.
    socket.send(String(seq), port, target).catch(() => undefined);
  }
}, intervalMs);
timer.ref();
