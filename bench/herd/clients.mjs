#!/usr/bin/env node
// bench/herd/clients.mjs: real @nudge/query-core clients for the herd scenario, one process of
// several (bench/herd/scenario.mjs spreads them). Each client is what a browser tab runs: its own
// QueryClient, createNudge with socket.io-client (one WebSocket each, no tab sharing) and one
// observer of the shared key ['rates'], whose query function fetches the API.
//
//   node bench/herd/clients.mjs --hub URL --api URL --secret S --count N [--first 0]
//        [--versioned] [--resync-spread-ms 0] [--timeout 120]
//
// --versioned: the query function asks for `?nudge_v=<v>`, the version the last event carried
// in its data (`{ "v": g }`), so a shared cache may collapse the refetches (deploy/nginx/
// api-collapse.conf). Prints one JSON object a line on stdout:
//   {"ready":true,"connected":n,"loaded":n}  every client connected and has its first data
//     (or {"ready":false,...} at the timeout);
//   {"state":{"connected":n,"fresh":n}}      every 250 ms while it changes;
//   {"report":true,"fresh":n,"lat":[ms,...],"got":[ms,...],"connected":n}  for the stdin line
//     {"report":true}: how long after `t0` each fresh client got data with gen >= `gen` (`lat`)
//     and each client received the event (`got`);
//   {"warmed":true}  for the stdin line {"warmup":k}, once every client has received k
//     `herd_warmup` events (mapped to a key nobody observes: the event path runs, nothing is
//     fetched).
// Stdin lines {"expect":{"gen":g,"t0":ms}} set what counts as fresh (t0 on the Date.now() clock
// of this machine). When stdin ends every client stops and the process exits.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { QueryClient, QueryObserver } from '@tanstack/query-core';
import { io } from 'socket.io-client';
import { createNudge } from '@nudge/query-core';
import { mintToken } from '../../tools/nudge.mjs';

const { values } = parseArgs({
  options: {
    hub: { type: 'string' }, api: { type: 'string' }, secret: { type: 'string' }, count: { type: 'string' },
    first: { type: 'string', default: '0' }, versioned: { type: 'boolean', default: false },
    'resync-spread-ms': { type: 'string', default: '0' }, timeout: { type: 'string', default: '120' },
  },
});
const count = Number(values.count);
const first = Number(values.first);
const resyncSpreadMs = Number(values['resync-spread-ms']);
const timeoutMs = Number(values.timeout) * 1000;
if (!values.hub || !values.api || !values.secret || !(count > 0) || !(resyncSpreadMs >= 0) || !(timeoutMs > 0)) {
  console.error('clients.mjs: --hub, --api, --secret and --count > 0 are required (see the header of bench/herd/clients.mjs)');
  process.exit(2);
}

// A minimal HTTP/1.1 client over kept-alive sockets: the clients stand in for 10,000 devices that
// each have their own CPU, but here they share the machine's cores with the origin they measure,
// so every microsecond they spend delays their timers and bunches their requests. node:http costs
// about 130 µs of CPU per request here, this about 33 µs (fetch() costs ten times node:http).
// It reads what the origin and nginx answer: a status line, headers with Content-Length, a body.
const api = new URL(values.api);
const idle = [];
const openSocket = () => {
  const socket = connect(Number(api.port), api.hostname);
  socket.setNoDelay(true);
  socket.setEncoding('latin1');
  const fail = (error) => {
    socket.destroy();
    const i = idle.indexOf(socket);
    if (i >= 0) idle.splice(i, 1);
    const waiting = socket.herdWaiting;
    socket.herdWaiting = null;
    waiting?.reject(error);
  };
  socket.on('data', (chunk) => {
    const waiting = socket.herdWaiting;
    if (!waiting) return fail(new Error(`clients.mjs: ${api.host} sent bytes nobody asked for`));
    waiting.buf += chunk;
    const end = waiting.buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = waiting.buf.slice(0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) return fail(new Error(`clients.mjs: ${api.host} answered without Content-Length: ${head}`));
    const body = waiting.buf.slice(end + 4, end + 4 + Number(length[1]));
    if (body.length < Number(length[1])) return;
    socket.herdWaiting = null;
    idle.push(socket);
    const status = Number(head.slice(9, 12));
    if (status !== 200) waiting.reject(new Error(`GET ${waiting.path}: ${status}`));
    else waiting.resolve(JSON.parse(body));
  });
  socket.on('error', fail);
  socket.on('close', () => fail(new Error(`clients.mjs: ${api.host} closed the connection`)));
  return socket;
};
const getJson = (path) => new Promise((resolve, reject) => {
  const socket = idle.pop() ?? openSocket();
  socket.herdWaiting = { resolve, reject, buf: '', path };
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${api.host}\r\n\r\n`);
});

const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
let expect = { gen: Infinity, t0: 0 };
const clients = [];
let connected = 0;
let loaded = 0;
let fresh = 0;

function open(i) {
  const client = { gen: 0, freshAt: null, v: null, connected: false, eventAt: null, warm: 0 };
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: 3, staleTime: Infinity } } });
  const nudge = createNudge({
    url: values.hub,
    io,
    getToken: () => mintToken({ secret: values.secret, sub: `herd_${first + i}`, rooms: ['rates'] }),
    queryClient,
    events: { rates_changed: ['rates'], herd_warmup: ['herd_warmup'] },
    shareAcrossTabs: false,
    locks: null,
    channel: null,
    onlineManager: null,
    resumeListener: () => () => {},
    resyncSpreadMs,
    socketOptions: { transports: ['websocket'], forceNew: true },
    onError: () => {},
  });
  nudge.on('rates_changed', (data) => {
    client.v = data?.v ?? null;
    client.eventAt ??= Date.now();
  });
  nudge.on('herd_warmup', () => { client.warm += 1; });
  nudge.subscribe(() => {
    const now = nudge.getStatus().state === 'connected';
    if (now !== client.connected) connected += now ? 1 : -1;
    client.connected = now;
  });
  const observer = new QueryObserver(queryClient, {
    queryKey: ['rates'],
    queryFn: () => getJson(`/api/rates${values.versioned && client.v !== null ? `?nudge_v=${client.v}` : ''}`),
  });
  observer.subscribe((result) => {
    const gen = result.data?.gen ?? 0;
    if (gen > 0 && client.gen === 0) loaded += 1;
    client.gen = gen;
    if (client.freshAt === null && gen >= expect.gen) {
      client.freshAt = Date.now();
      fresh += 1;
    }
  });
  client.stop = nudge.start();
  clients.push(client);
}

for (let i = 0; i < count; i++) open(i);

const started = Date.now();
const readiness = setInterval(() => {
  if (connected === count && loaded === count) {
    clearInterval(readiness);
    out({ ready: true, connected, loaded });
  } else if (Date.now() - started > timeoutMs) {
    clearInterval(readiness);
    out({ ready: false, gave_up: 'timeout', connected, loaded });
  }
}, 50);

let last = '';
setInterval(() => {
  const state = JSON.stringify({ connected, fresh });
  if (state !== last) out({ state: JSON.parse(state) });
  last = state;
}, 250);

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  const msg = JSON.parse(line);
  if (msg.expect) {
    expect = msg.expect;
    fresh = 0;
    for (const c of clients) {
      c.eventAt = null;
      c.freshAt = c.gen >= expect.gen ? Date.now() : null;
      if (c.freshAt !== null) fresh += 1;
    }
  } else if (msg.warmup) {
    const waiting = setInterval(() => {
      if (clients.every((c) => c.warm >= msg.warmup)) {
        clearInterval(waiting);
        out({ warmed: true });
      }
    }, 50);
  } else if (msg.report) {
    const lat = clients.filter((c) => c.freshAt !== null).map((c) => c.freshAt - expect.t0);
    // When the event reached each client (none for a restart, which sends no event).
    const got = clients.filter((c) => c.eventAt !== null).map((c) => c.eventAt - expect.t0);
    out({ report: true, fresh, connected, lat, got });
  }
});
input.on('close', () => {
  for (const c of clients) c.stop();
  process.exit(0);
});
