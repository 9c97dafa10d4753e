// Connection-state recovery with the real socket.io-client 4.8 and the seed's options: every
// event emitted while a client is away arrives once, in order, after it reconnects, with
// socket.recovered === true; when the hub cannot fill the gap the client gets recovered false
// and one nudge:resync event naming the rooms, never silence.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import {
  startHub, seedClient, token, connected, emit, eventually, metrics, SLOW,
} from './lib/hub.mjs';

const hubs = [];
const sockets = [];
after(async () => {
  for (const s of sockets) s.disconnect();
  for (const h of hubs) await h.stop();
});

async function hub(args = []) {
  const h = await startHub({ args, recovery: true });
  hubs.push(h);
  return h;
}

// A seed client that records every event (name, args) and every connect's `recovered`.
async function client(h, sub, claims = {}) {
  const socket = seedClient(h.url, token(sub, claims));
  sockets.push(socket);
  socket.got = [];
  socket.connects = [];
  socket.onAny((name, ...args) => socket.got.push([name, ...args]));
  socket.on('connect', () => socket.connects.push(socket.recovered));
  await connected(socket);
  return socket;
}

const named = (socket, name) => socket.got.filter(([n]) => n === name);
const seqs = (socket, name = 'n') => named(socket, name).map(([, data]) => data.i);

async function publish(h, room, from, count) {
  const events = [];
  for (let i = from; i < from + count; i++) events.push({ room, event: 'n', data: { i } });
  const r = await emit(h, { events });
  assert.equal(r.status, 202, r.text);
  return r.json;
}

// Proves nothing more is on its way: publishes a marker to each room after the case and waits
// for all of them. Each room's events arrive in order, so a duplicate or a late replay of an
// earlier event would arrive before its room's marker; a sleep window would pass a slow bug.
let markers = 0;
async function settle(h, socket, rooms) {
  const ids = [];
  for (const room of rooms) {
    const id = ++markers;
    ids.push(id);
    const r = await emit(h, { room, event: 'marker', data: { id } });
    assert.equal(r.status, 202, r.text);
  }
  const got = () => named(socket, 'marker').map(([, data]) => data.id);
  await eventually(() => ids.every((id) => got().includes(id)));
}

// Drops the transport from the client side and waits until the hub has reconnected it.
async function dropAndReconnect(socket, during) {
  const reconnected = new Promise((resolve) => socket.once('connect', resolve));
  socket.io.engine.close();
  await during();
  await reconnected;
}

test('the 202 answer gives each event its offset, the last argument clients receive', async () => {
  const h = await hub();
  const alice = await client(h, 'r1');
  const answer = await publish(h, 'user_r1', 1, 2);
  assert.equal(answer.accepted, 2);
  assert.equal(answer.events.length, 2);
  await eventually(() => alice.got.length === 2);
  assert.deepEqual(alice.got.map((args) => args.at(-1)), answer.events.map((e) => e.offset));
  assert.deepEqual(alice.got.map(([, data]) => data), [{ i: 1 }, { i: 2 }]);
});

test('client-side drop: the 5 events of the gap arrive once, in order, recovered', async () => {
  const h = await hub();
  const alice = await client(h, 'r2');
  await publish(h, 'user_r2', 1, 1);
  await eventually(() => alice.got.length === 1);
  await dropAndReconnect(alice, () => publish(h, 'user_r2', 2, 5));
  assert.equal(alice.recovered, true);
  await settle(h, alice, ['user_r2']);
  assert.deepEqual(seqs(alice), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(named(alice, 'nudge:resync'), []);
});

test('a drop before any event was received still recovers (the pid holds the position)', async () => {
  const h = await hub();
  await publish(h, 'user_r3', 100, 3);  // history before the client connected is not owed
  const bob = await client(h, 'r3');
  await dropAndReconnect(bob, () => publish(h, 'user_r3', 1, 5));
  assert.equal(bob.recovered, true);
  await settle(h, bob, ['user_r3']);
  assert.deepEqual(seqs(bob), [1, 2, 3, 4, 5]);
});

test('three consecutive drops of one session each recover everything', async () => {
  const h = await hub();
  const carol = await client(h, 'r4', { rooms: ['team_r4'] });
  let next = 1;
  for (let drop = 0; drop < 3; drop++) {
    await dropAndReconnect(carol, async () => {
      await publish(h, drop % 2 ? 'team_r4' : 'user_r4', next, 5);
      next += 5;
    });
    assert.equal(carol.recovered, true, `drop ${drop + 1}`);
  }
  await settle(h, carol, ['user_r4', 'team_r4']);
  assert.deepEqual(seqs(carol), Array.from({ length: 15 }, (_, i) => i + 1));
  assert.deepEqual(carol.connects, [false, true, true, true]);
  const m = await metrics(h);
  assert.ok(m.nudge_sessions_recovered_total >= 3);
  assert.ok(m.nudge_events_replayed_total >= 15);
});

test('server-side drop of a slow consumer: recovered from history on reconnect', async () => {
  // The default 1 MiB budget (a replay may use all of it); dropped 100 ms past the 256 KiB mark
  // (a 400 ms ping interval makes the hub's sweep, which enforces that, run every 100 ms).
  const h = await hub(['--slow-consumer-timeout', '100', '--ping-interval', '400']);
  const dave = await client(h, 'r5');
  const raw = dave.io.engine.transport.ws._socket;  // the TCP socket under the WebSocket
  raw.pause();
  // Big events fill the kernel's buffers, then the hub's queue: the hub drops the client.
  const filler = 'x'.repeat(4000);
  let i = 1;
  const before = (await metrics(h)).nudge_slow_consumer_drops_total ?? 0;
  await eventually(async () => {
    const events = [];
    for (let k = 0; k < 10; k++) events.push({ room: 'user_r5', event: 'n', data: { i: i++, filler } });
    assert.equal((await emit(h, { events })).status, 202);
    return (await metrics(h)).nudge_slow_consumer_drops_total > before;
  }, { timeoutMs: 30000 * SLOW, intervalMs: 10 });
  const reconnected = new Promise((resolve) => dave.once('connect', resolve));
  await publish(h, 'user_r5', i, 5);
  const last = i + 4;
  raw.resume();
  await reconnected;
  assert.equal(dave.recovered, true, JSON.stringify([named(dave, "nudge:resync"), seqs(dave).length, i, dave.connects]));
  await eventually(() => seqs(dave).at(-1) === last, { timeoutMs: 10000 * SLOW });
  await settle(h, dave, ['user_r5']);
  assert.deepEqual(seqs(dave), Array.from({ length: last }, (_, k) => k + 1));
});

test('a gap the history cannot fill: recovered false and one nudge:resync naming the room', async () => {
  const h = await hub(['--max-replay', '3']);
  const erin = await client(h, 'r6', { rooms: ['quiet_r6'] });
  await dropAndReconnect(erin, () => publish(h, 'user_r6', 1, 5));
  assert.equal(erin.recovered, false);
  await eventually(() => named(erin, 'nudge:resync').length === 1);
  assert.deepEqual(named(erin, 'nudge:resync'), [['nudge:resync', { rooms: ['user_r6'] }]]);
  // The resync came before "connect", so the application knows at connect what to refetch.
  assert.equal(erin.got.findIndex(([n]) => n === 'nudge:resync'), 0);
  assert.deepEqual(seqs(erin), []);
  // A new pid: the next drop recovers from the new position.
  await dropAndReconnect(erin, () => publish(h, 'quiet_r6', 6, 2));
  assert.equal(erin.recovered, true);
  await eventually(() => seqs(erin).length === 2);
  assert.deepEqual(seqs(erin), [6, 7]);
  assert.ok((await metrics(h)).nudge_sessions_resynced_total >= 1);
});

test('a hub restart (new epoch): every room of the session is resynced', async () => {
  const first = await hub();
  const port = first.port;
  const frank = await client(first, 'r7', { rooms: ['team_r7'] });
  await publish(first, 'user_r7', 1, 1);
  await eventually(() => seqs(frank).length === 1);
  const reconnected = new Promise((resolve) => frank.once('connect', resolve));
  await first.stop();
  const second = await startHub({ port, recovery: true });
  hubs.push(second);
  await reconnected;
  assert.equal(frank.recovered, false);
  await eventually(() => named(frank, 'nudge:resync').length === 1);
  assert.deepEqual(named(frank, 'nudge:resync')[0][1], { rooms: ['user_r7', 'team_r7'] });
});

test('--recovery off: no pid, no offset argument, never recovered', async () => {
  const h = await hub(['--recovery', 'off']);
  const gina = await client(h, 'r8');
  await publish(h, 'user_r8', 1, 1);
  await eventually(() => gina.got.length === 1);
  assert.deepEqual(gina.got, [['n', { i: 1 }]]);
  await dropAndReconnect(gina, async () => {});
  assert.notEqual(gina.recovered, true);
});

// The same guarantee over HTTP long-polling (socket.io-client's default transport first): the
// polling session answers CONNECT with a pid once the broker has answered, and a reconnect
// after a drop replays the gap.
for (const transports of [['polling'], ['polling', 'websocket']]) {
  test(`over ${transports.join(' then ')}: connects with a pid and a drop recovers the gap`, async () => {
    const h = await hub();
    const socket = io(h.url, {
      auth: { token: token('rp') },
      transports,
      reconnectionDelay: 200,
    });
    sockets.push(socket);
    socket.got = [];
    socket.onAny((name, ...args) => socket.got.push([name, ...args]));
    await connected(socket);
    await publish(h, 'user_rp', 1, 1);
    await eventually(() => socket.got.length === 1);
    await dropAndReconnect(socket, () => publish(h, 'user_rp', 2, 3));
    assert.equal(socket.recovered, true);
    await settle(h, socket, ['user_rp']);
    assert.deepEqual(seqs(socket), [1, 2, 3, 4]);
  });
}
