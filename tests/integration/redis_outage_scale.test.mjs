// Outage recovery at scale (issue 20), against a real redis-server started here and the real
// hub: a hub holding 200,000 rooms used to never come back after a Redis restart (one SUBSCRIBE
// per channel in one burst, each reply on its own 2 s deadline: the link was declared lost, the
// backoff reset, and it started again), and it sent one nudge:resync per room (a client in
// 1,000 rooms received 1,000 events). Now the rooms are re-subscribed many channels per
// command within a window, and each session gets ONE nudge:resync naming its rooms.
//
// The test asserts that the hub comes back (healthz connected, publish 202), not how fast;
// absence of a second resync is checked with a marker published after it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHub, seedClient, token, connected, emit, eventually, SLOW, API_KEY,
} from './lib/hub.mjs';
import { startRedis } from './lib/redis.mjs';

// Under the sanitizers (NUDGE_SANITIZED) the hub runs several times slower; there the test
// checks the same mechanism (windowed resubscribe, one resync per session) on a tenth of the rooms.
const ROOMS = SLOW > 1 ? 20_000 : 200_000;
const PER_JOIN = 900;     // the API takes at most 1,000 rooms per request (rooms + targets)
const SMALL_ROOMS = 1_000;
const LONG = 180_000 * SLOW;  // a generous bound for a 2-core machine shared by other jobs

const stops = [];
after(async () => {
  for (const stop of stops.reverse()) await stop();
});

async function join(hub, selector, targets) {
  const response = await fetch(`${hub.url}/api/v1/rooms/join`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify({ room: selector, join: targets }),
  });
  assert.equal(response.status, 202, await response.text());
}

function record(socket) {
  socket.log = [];
  socket.onAny((name, ...args) => socket.log.push([name, ...args]));
  return socket;
}
const events = (socket, name) => socket.log.filter(([n]) => n === name);

test(`a hub holding ${ROOMS.toLocaleString('en')} rooms is back after a Redis restart, and each client gets ONE nudge:resync`, { timeout: 4 * LONG }, async () => {
  const redis = await startRedis();
  stops.push(() => redis.stop());
  const hub = await startHub({ broker: redis.url });
  stops.push(() => hub.stop());
  const big = record(seedClient(hub.url, token('big')));
  const small = record(seedClient(hub.url, token('small')));
  stops.push(async () => { big.disconnect(); small.disconnect(); });
  await Promise.all([connected(big), connected(small)]);

  const room = (i) => `r${i}`;
  for (let first = 0; first < ROOMS; first += PER_JOIN) {
    const targets = [];
    for (let i = first; i < Math.min(first + PER_JOIN, ROOMS); i++) targets.push(room(i));
    await join(hub, 'user_big', targets);
  }
  const smallRooms = Array.from({ length: SMALL_ROOMS }, (_, i) => room(i));
  for (let first = 0; first < SMALL_ROOMS; first += PER_JOIN) await join(hub, 'user_small', smallRooms.slice(first, first + PER_JOIN));
  // Joined and subscribed: an event to the last room reaches `big`, one to r0 reaches `small`.
  const reached = async (socket, target, name) => {
    await eventually(async () => {
      if (socket.log.some(([n]) => n === name)) return true;
      await emit(hub, { rooms: [target], event: name, data: {} });
      return false;
    }, { timeoutMs: LONG, intervalMs: 500 });
  };
  await reached(big, room(ROOMS - 1), 'joined-big');
  await reached(small, room(0), 'joined-small');
  big.log.length = 0;
  small.log.length = 0;

  await redis.restart();  // an empty Redis on the same port: every subscription is gone

  // Back: the broker reports connected and a publish is accepted.
  await eventually(async () => {
    const response = await fetch(`${hub.url}/healthz`, { signal: AbortSignal.timeout(5000 * SLOW) }).catch(() => null);
    const json = response ? await response.json() : null;
    return json?.broker?.connected === true;
  }, { timeoutMs: LONG, intervalMs: 250 });
  await eventually(async () => (await emit(hub, { rooms: ['nobody'], event: 'probe', data: {} })).status === 202,
    { timeoutMs: LONG, intervalMs: 250 });

  // Every room resubscribed: the resync arrives; then a marker published after it.
  await eventually(() => events(small, 'nudge:resync').length > 0 && events(big, 'nudge:resync').length > 0,
    { timeoutMs: LONG, intervalMs: 100 });
  await reached(small, 'user_small', 'marker');
  await reached(big, 'user_big', 'marker');

  assert.equal(events(small, 'nudge:resync').length, 1, 'one resync for a client in 1,000 rooms');
  // Its user room and the 1,000 joined ones, in one event.
  assert.deepEqual([...events(small, 'nudge:resync')[0][1].rooms].sort(), [...smallRooms, 'user_small'].sort());
  assert.equal(events(big, 'nudge:resync').length, 1, `one resync for a client in ${ROOMS} rooms`);
  // Past 10,000 rooms the resync names none: the client resyncs everything.
  assert.equal(events(big, 'nudge:resync')[0][1].rooms, undefined);
});
