// @nudge/react-query over a dropped connection, against the real hub with recovery on: a client
// with 8 queries is cut off for 2 s while events for 2 of them are published; after it
// reconnects only those 2 queries refetch (the hub replays the 2 events, recovered === true, no
// resync). When the gap cannot be filled, nudge:resync names the room and only the queries of
// the events published to that room refetch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { io } from 'socket.io-client';
import { QueryClient, QueryObserver } from '@tanstack/query-core';
import { createNudge } from '@nudge/react-query';
import { startHub, token, emit, eventually } from './lib/hub.mjs';

const fetches = new Map();  // query index -> REST requests served
let rest;
before(async () => {
  rest = createServer((req, res) => {
    const i = Number(new URL(req.url, 'http://x').searchParams.get('q'));
    fetches.set(i, (fetches.get(i) ?? 0) + 1);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ i }));
  });
  rest.listen(0, '127.0.0.1');
  await once(rest, 'listening');
});
after(() => rest.close());

const QUERIES = 8;
// Event e<i> invalidates query ['q', i]; a team room gets e6 and e7 only.
const events = Object.fromEntries(Array.from({ length: QUERIES }, (_, i) => [`e${i}`, [['q', i]]]));

async function dashboard(hubUrl, user, { roomEvents } = {}) {
  fetches.clear();
  const queryClient = new QueryClient();
  const unsubscribes = [];
  for (let i = 0; i < QUERIES; i++) {
    const observer = new QueryObserver(queryClient, {
      queryKey: ['q', i],
      queryFn: async () => (await fetch(`http://127.0.0.1:${rest.address().port}/?q=${i}`)).json(),
      staleTime: Infinity,
    });
    unsubscribes.push(observer.subscribe(() => {}));
  }
  let socket;
  const nudge = createNudge({
    url: hubUrl,
    io: (url, options) => (socket = io(url, options)),
    queryClient,
    getToken: () => token(user, { rooms: ['team_1'] }),
    events,
    ...(roomEvents ? { roomEvents } : {}),
    // A 2 s drop: the client waits exactly that long before reconnecting.
    socketOptions: { transports: ['websocket'], reconnectionDelay: 2000, randomizationFactor: 0 },
    locks: null,
    channel: null,
    coalesceMs: 20,
  });
  const stop = nudge.start();
  await eventually(() => nudge.getStatus().state === 'connected' && fetches.size === QUERIES);
  return {
    get socket() { return socket; },
    counts: () => Array.from({ length: QUERIES }, (_, i) => fetches.get(i) ?? 0),
    close() {
      stop();
      for (const u of unsubscribes) u();
      queryClient.clear();
    },
  };
}

// Proves no further refetch is on its way: e0 is published to `room` after the case and waits
// for query 0's refetch. The room's events arrive in order, so a replayed duplicate would be
// applied before it (a sleep window would pass a duplicate that is merely slow).
async function marker(hub, app, room) {
  const before = app.counts()[0];
  const r = await emit(hub, { room, event: 'e0', data: {} });
  assert.equal(r.status, 202, r.text);
  await eventually(() => app.counts()[0] === before + 1);
}

async function drop(app, during) {
  const back = new Promise((resolve) => app.socket.once('connect', resolve));
  app.socket.io.engine.close();
  await during();
  await back;
}

test('a 2 s drop: only the queries of the events emitted meanwhile refetch', async () => {
  const hub = await startHub({ recovery: true });
  const app = await dashboard(hub.url, 'rq1');
  try {
    assert.deepEqual(app.counts(), [1, 1, 1, 1, 1, 1, 1, 1]);
    await drop(app, async () => {
      await emit(hub, { room: 'user_rq1', event: 'e2', data: {} });
      await emit(hub, { room: 'user_rq1', event: 'e5', data: {} });
    });
    assert.equal(app.socket.recovered, true);
    await eventually(() => app.counts()[2] === 2 && app.counts()[5] === 2);
    await marker(hub, app, 'user_rq1');
    assert.deepEqual(app.counts(), [2, 1, 2, 1, 1, 2, 1, 1]);
  } finally {
    app.close();
    await hub.stop();
  }
});

// Issue 22: recovery by default for the client that can use it. The hub runs with its default
// settings (--recovery auto): @nudge/react-query asks for recovery in its CONNECT auth, so a blip
// in which nothing was published costs no refetch at all.
test('default hub: a blip with nothing missed is recovered with zero refetches', async () => {
  const hub = await startHub({ recovery: null });
  const app = await dashboard(hub.url, 'rq0');
  try {
    assert.equal(typeof app.socket._pid, 'string');
    await drop(app, async () => {});
    assert.equal(app.socket.recovered, true);
    await marker(hub, app, 'user_rq0');
    assert.deepEqual(app.counts(), [2, 1, 1, 1, 1, 1, 1, 1]);
  } finally {
    app.close();
    await hub.stop();
  }
});

test('a gap the hub cannot fill: only the queries of the lost room\'s events refetch', async () => {
  const hub = await startHub({ recovery: true, args: ['--max-replay', '1'] });
  const roomEvents = (room) => (room === 'team_1' ? ['e6', 'e7'] : undefined);
  const app = await dashboard(hub.url, 'rq2', { roomEvents });
  try {
    await drop(app, async () => {
      await emit(hub, { room: 'team_1', event: 'e6', data: {} });
      await emit(hub, { room: 'team_1', event: 'e6', data: {} });
    });
    assert.notEqual(app.socket.recovered, true);
    await eventually(() => app.counts()[6] === 2 && app.counts()[7] === 2);
    await marker(hub, app, 'team_1');
    assert.deepEqual(app.counts(), [2, 1, 1, 1, 1, 1, 2, 2]);
  } finally {
    app.close();
    await hub.stop();
  }
});
