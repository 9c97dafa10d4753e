// Test helper: a real socket.io-client connected to the hub as one user, with the seed's
// options. Prints one JSON line per happening on stdout:
//   {"kind":"connected"}
//   {"kind":"event","event":"balance_updated","args":[{...}],"t":1700000000123.456}
//   {"kind":"connect_error","message":"unauthorized","data":{"reason":"..."}}
//   {"kind":"disconnect","reason":"io server disconnect"}
// `t` is the receive time in milliseconds since the epoch (sub-millisecond precision).
//   node listener.mjs --url http://127.0.0.1:PORT --secret S --sub 123 [--nudge]
// --nudge connects as @nudge/query-core does (auth.nudge: 1): events with a version or a spread
// then carry nudge's metadata argument after the data.
import { parseArgs } from 'node:util';
import { io } from 'socket.io-client';
import { mintToken } from '../../../tools/nudge.mjs';

const { values } = parseArgs({
  options: {
    url: { type: 'string' }, secret: { type: 'string' }, sub: { type: 'string' },
    nudge: { type: 'boolean', default: false },
  },
});
for (const name of ['url', 'secret', 'sub']) {
  if (!values[name]) {
    console.error(`listener: --${name} is required`);
    process.exit(2);
  }
}

const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const now = () => performance.timeOrigin + performance.now();

const socket = io(values.url, {
  auth: {
    token: mintToken({ secret: values.secret, sub: values.sub }),
    ...(values.nudge ? { nudge: 1 } : {}),
  },
  transports: ['websocket'],
  reconnection: true,
  reconnectionAttempts: 10,
  reconnectionDelay: 1000,
});
socket.onAny((event, ...args) => print({ kind: 'event', event, args, t: now() }));
socket.on('connect', () => print({ kind: 'connected' }));
// Only the server's own disconnect (POST /api/v1/rooms/disconnect): other ends are the test's.
socket.on('disconnect', (reason) => {
  if (reason === 'io server disconnect') print({ kind: 'disconnect', reason });
});
socket.on('connect_error', (err) => print({ kind: 'connect_error', message: err.message, data: err.data }));

// The test closes stdin (or ends the process) when it is done with us.
process.stdin.resume();
process.stdin.on('end', () => { socket.close(); process.exit(0); });
