#!/usr/bin/env node
// bench/polling/clients.mjs: real socket.io-client (npm) clients for bench/run.mjs's polling scenario,
// one process of many (bench/run.mjs spreads the clients over several of these).
//
//   node bench/polling/clients.mjs --url http://127.0.0.1:8080 --secret S --count 250
//        [--first 0] [--transports polling|default] [--timeout 60] [--concurrency 20]
//
// Connects `count` clients (sub = first+i, rooms ["all"], as nudge-loadgen's), each its own
// Manager (forceNew), reconnection off, at most `concurrency` handshakes in flight:
//   polling   transports: ['polling'], HTTP long-polling only;
//   default   socket.io-client's defaults: polling first, then the upgrade to WebSocket, which
//             this script waits for (a client counts as held once it upgraded).
// Prints, one JSON object a line on stdout:
//   {"ready":true,"held":h,"failed":f,"stalled":0,...} once every client is held or failed, or
//   {"ready":false,"gave_up":"timeout",...,"stalled":s} at the timeout (those still connecting
//   are closed and counted as stalled, so a server that never answers cannot keep us waiting);
//   {"events":n} whenever the count of "bench" events received changed (at most every 100 ms);
//   {"report":true,"held":h,"dropped":d,"events":n,"latency_us":[...]} for the line "report"
//   on stdin: `latency_us` is emit→receive of every event, from its data {"t": CLOCK_MONOTONIC
//   ns} that the publisher of nudge-loadgen writes (process.hrtime reads the same clock).
// When stdin ends, every client is closed and the process exits.
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { io } from 'socket.io-client';
import { mintToken } from '../../tools/nudge.mjs';

const { values } = parseArgs({
  options: {
    url: { type: 'string' }, secret: { type: 'string' }, count: { type: 'string' },
    first: { type: 'string', default: '0' }, transports: { type: 'string', default: 'polling' },
    timeout: { type: 'string', default: '60' }, concurrency: { type: 'string', default: '20' },
  },
});
const count = Number(values.count);
const first = Number(values.first);
const concurrency = Number(values.concurrency);
const timeoutMs = Number(values.timeout) * 1000;
if (!values.url || !values.secret || !(count > 0) || !(concurrency > 0) || !(timeoutMs > 0)
  || !['polling', 'default'].includes(values.transports)) {
  console.error('clients.mjs: --url, --secret, --count > 0 and --transports polling|default are required');
  process.exit(2);
}
const upgrade = values.transports === 'default';

const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const clients = []; // { socket, state: connecting | held | failed | dropped | stalled }
const latencyUs = [];
let held = 0;
let failed = 0;
let dropped = 0;
let events = 0;
let next = 0;
let readyPrinted = false;

function printReady(extra) {
  if (readyPrinted) return;
  readyPrinted = true;
  out({ ready: !extra, held, failed, stalled: 0, dropped, ...extra });
}

// Opens client i; resolves once it is held (connected, and upgraded if asked) or failed.
function open(i) {
  return new Promise((resolve) => {
    const socket = io(values.url, {
      forceNew: true, reconnection: false, timeout: timeoutMs,
      auth: { token: mintToken({ secret: values.secret, sub: String(first + i), rooms: ['all'] }) },
      ...(upgrade ? {} : { transports: ['polling'] }),
    });
    const client = { socket, state: 'connecting' };
    clients.push(client);
    let connected = false;
    let upgraded = !upgrade;
    const settle = (outcome) => {
      if (client.state !== 'connecting') return;
      client.state = outcome;
      if (outcome === 'held') held += 1;
      else failed += 1;
      resolve();
    };
    const maybeHeld = () => { if (connected && upgraded) settle('held'); };
    // The engine exists as soon as io() returns (autoConnect); the upgrade may land before or
    // after the Socket.IO CONNECT is answered.
    socket.io.engine.on('upgrade', () => { upgraded = true; maybeHeld(); });
    socket.on('connect', () => { connected = true; maybeHeld(); });
    socket.on('connect_error', () => { settle('failed'); socket.close(); });
    socket.on('disconnect', () => {
      if (client.state === 'held') {
        held -= 1;
        dropped += 1;
        client.state = 'dropped';
      } else {
        settle('failed');
      }
    });
    socket.on('bench', (data) => {
      events += 1;
      if (data && typeof data.t === 'number') {
        latencyUs.push((Number(process.hrtime.bigint()) - data.t) / 1000);
      }
    });
  });
}

async function worker() {
  while (next < count) {
    const i = next;
    next += 1;
    await open(i);
  }
}

const giveUp = setTimeout(() => {
  // Still connecting at the deadline: closed and counted as stalled.
  next = count; // open no more
  let stalled = count - clients.length;
  for (const client of clients.filter((c) => c.state === 'connecting')) {
    client.state = 'stalled';
    stalled += 1;
    client.socket.close();
  }
  printReady({ ready: false, gave_up: 'timeout', stalled });
}, timeoutMs);
Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker)).then(() => {
  clearTimeout(giveUp);
  printReady();
});

let lastEvents = 0;
setInterval(() => {
  if (events !== lastEvents) {
    lastEvents = events;
    out({ events });
  }
}, 100);

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  if (line.trim() === 'report') out({ report: true, held, dropped, events, latency_us: latencyUs.map(Math.round) });
});
input.on('close', () => {
  for (const { socket } of clients) socket.close();
  process.exit(0);
});
