/**
 * The UDP echo responder a balancer runs (inside its namespace): bound to the VIP on ECHO_PORT (the namespace
 * allows non-local binds), it answers each request `SEQ` with `NAME SEQ`, so the client knows which balancer
 * answered. The kernel delivers to it only while the namespace holds the VIP.
 *
 *   node netns-lab/responder.ts NAME PORT ADDRESS...     (prints "ready" once every socket is bound)
 */
import { isIPv6 } from 'node:net';
import DgramAsPromised from 'dgram-as-promised';

const [name, portText, ...addresses] = process.argv.slice(2);
const port = Number(portText);
if (!name || !Number.isInteger(port) || addresses.length === 0) {
  process.stderr.write('usage: responder NAME PORT ADDRESS...\n');
  process.exit(2);
}

const sockets = await Promise.all(
  addresses.map(async (address) => {
    const socket = DgramAsPromised.createSocket(isIPv6(address) ? 'udp6' : 'udp4');
    await socket.bind(port, address);
    return socket;
  }),
);
process.stdout.write('ready\n');
process.on('SIGTERM', () => process.exit(0));

await Promise.all(
  sockets.map(async (socket) => {
    for await (const { msg, rinfo } of socket) {
      // A failed send (e.g. the VIP just left) is the client's outage to measure, not a reason to stop.
      await socket.send(`${name} ${msg.toString()}`, rinfo.port, rinfo.address).catch(() => undefined);
    }
  }),
);
