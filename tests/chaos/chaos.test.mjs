// Chaos: 200 seed clients over 20 rooms, 20,000 numbered events, while clients drop their
// transport at random, some stop reading (the hub drops them as slow consumers) and the hub
// restarts once. For every client and every room it is in, every event published to that room
// must have been delivered exactly once and in order, or be covered by a nudge:resync naming
// the room received after the event was published (with recovered === false on that connect).
// Zero silent losses. Prints delivered / recovered / resynced counts.
//
// Run: make chaos-test (node --test tests/chaos/)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHub, seedClient, token, connected, emit, eventually, sleep, metrics, SLOW,
} from '../integration/lib/hub.mjs';

const CLIENTS = 200;
const ROOMS = 20;
const EVENTS = 20000;
const BATCH = 200;
const BULK_READERS = 6;  // clients also in the `bulk` room, paused to become slow consumers
const HUB_ARGS = [
  '--max-send-queue', '262144', '--slow-consumer-timeout', '200', '--ping-interval', '1000',
  '--max-body', '4194304', '--history-size', '2000',
];

let hub;
const sockets = [];
after(async () => {
  for (const s of sockets) s.disconnect();
  await hub?.stop();
});

// Seeded, so a failure can be replayed.
let state = Number(process.env.CHAOS_SEED ?? 20261130);
const random = () => {
  state = (state * 1103515245 + 12345) % 2147483648;
  return state / 2147483648;
};
const pick = (n) => Math.floor(random() * n);

test('no silent loss under drops, slow consumers and a hub restart', { timeout: 120000 * SLOW }, async () => {
  hub = await startHub({ args: HUB_ARGS, recovery: true });
  const port = hub.port;
  const published = new Map();  // room -> [{ seq, at }]
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) {
    const rooms = [`room_${i % ROOMS}`];
    if (i < BULK_READERS) rooms.push('bulk');
    const socket = seedClient(hub.url, token(`chaos${i}`, { rooms }));
    sockets.push(socket);
    const c = { i, socket, rooms, got: new Map(rooms.map((r) => [r, []])), resyncs: [], recovered: 0, unrecovered: 0, connects: 0 };
    socket.on('n', (data) => c.got.get(data.room)?.push(data.seq));
    c.errors = [];
    socket.on('connect_error', (e) => c.errors.push(e.message));
    socket.io.on('reconnect_failed', () => c.errors.push('reconnect_failed'));
    socket.on('nudge:resync', (data) => c.resyncs.push({ rooms: data.rooms, at: Date.now() }));
    socket.on('connect', () => {
      c.connects++;
      if (c.connects > 1) socket.recovered ? c.recovered++ : c.unrecovered++;
    });
    clients.push(c);
  }
  await Promise.all(sockets.map((s) => connected(s)));

  let stop = false;
  const disruptions = { drops: 0, pauses: 0 };
  let restarting = false;
  // Random transport drops from the client side.
  const dropper = (async () => {
    while (!stop) {
      await sleep(50);
      const c = clients[pick(CLIENTS)];
      if (!restarting && c.socket.connected) {
        c.socket.io.engine.close();
        disruptions.drops++;
      }
    }
  })();
  // Readers that stop reading while bulk events arrive: the hub drops them as slow consumers.
  const filler = 'x'.repeat(60000);
  const pauser = (async () => {
    while (!stop) {
      await sleep(300);
      const c = clients[pick(BULK_READERS)];
      const raw = c.socket.io.engine?.transport?.ws?._socket;
      if (restarting || !c.socket.connected || !raw) continue;
      raw.pause();
      disruptions.pauses++;
      for (let k = 0; k < 3 && !restarting; k++) {
        await publish(Array.from({ length: 40 }, () => ({ room: 'bulk', event: 'n', data: { room: 'bulk', seq: next('bulk'), filler } })));
      }
      await sleep(800);
      raw.resume();
    }
  })();

  async function publish(events) {
    const at = Date.now();
    for (;;) {
      const r = await emit(hub, { events }).catch((error) => ({ status: 0, text: String(error) }));
      if (r.status === 202) break;
      assert.ok(r.status === 0 || r.status === 503, `publish failed: ${r.status} ${r.text}`);
      await sleep(100);
    }
    for (const e of events) {
      const list = published.get(e.data.room) ?? [];
      published.set(e.data.room, list);
      list.push({ seq: e.data.seq, at });
    }
  }

  const seqOf = new Map();
  const next = (room) => {
    const seq = (seqOf.get(room) ?? 0) + 1;
    seqOf.set(room, seq);
    return seq;
  };
  let slowDrops = 0;
  for (let sent = 0; sent < EVENTS; sent += BATCH) {
    const events = [];
    for (let k = 0; k < BATCH; k++) {
      const room = `room_${pick(ROOMS)}`;
      events.push({ room, event: 'n', data: { room, seq: next(room) } });
    }
    await publish(events);
    if (sent === EVENTS / 2) {
      // One restart on the same port: a new epoch, the history is gone. Publishing resumes
      // once every client is back, so what follows is owed to them live or by replay.
      restarting = true;
      slowDrops += (await metrics(hub)).nudge_slow_consumer_drops_total;
      await hub.stop();
      hub = await startHub({ port, args: HUB_ARGS, recovery: true });
      await eventually(() => clients.every((c) => c.socket.connected), { timeoutMs: 20000 * SLOW })
        .catch((error) => {
          const down = clients.filter((c) => !c.socket.connected);
          throw new Error(`${error.message}: ${down.length} clients not back, e.g. ${JSON.stringify(down.slice(0, 3).map((c) => ({ i: c.i, active: c.socket.active, ready: c.socket.io._readyState, connects: c.connects, errors: c.errors, rec: c.socket.io._reconnecting, skip: c.socket.io.skipReconnect, att: c.socket.io.backoff.attempts, eng: c.socket.io.engine?.readyState })))}`);
        });
      restarting = false;
    }
    await sleep(150);
  }
  stop = true;
  await Promise.all([dropper, pauser]);
  for (const c of clients) c.socket.io.engine?.transport?.ws?._socket?.resume();

  // Every pair (client, room) must reach its final state: its last event or a later resync.
  const lost = (c, room) => {
    const list = published.get(room) ?? [];
    const got = new Set(c.got.get(room));
    return list.filter(({ seq, at }) => !got.has(seq) &&
      !c.resyncs.some((r) => r.rooms.includes(room) && r.at >= at));
  };
  await eventually(() => clients.every((c) => c.socket.connected && c.rooms.every((r) => lost(c, r).length === 0)),
    { timeoutMs: 30000 * SLOW, intervalMs: 250 }).catch(() => {});

  let delivered = 0;
  let resynced = 0;
  let recovered = 0;
  let covered = 0;
  const failures = [];
  for (const c of clients) {
    recovered += c.recovered;
    resynced += c.resyncs.length;
    for (const room of c.rooms) {
      const seqs = c.got.get(room);
      delivered += seqs.length;
      for (let k = 1; k < seqs.length; k++) {
        if (seqs[k] <= seqs[k - 1]) failures.push(`client ${c.i} ${room}: ${seqs[k]} after ${seqs[k - 1]}`);
      }
      const missing = lost(c, room);
      if (missing.length) failures.push(`client ${c.i} ${room}: ${missing.length} silently lost (first seq ${missing[0].seq})`);
      const got = new Set(seqs);
      covered += (published.get(room) ?? []).filter(({ seq }) => !got.has(seq)).length;
    }
    // A resync only ever comes with an unrecovered connect.
    if (c.resyncs.length > c.unrecovered) failures.push(`client ${c.i}: ${c.resyncs.length} resyncs, ${c.unrecovered} unrecovered connects`);
  }
  slowDrops += (await metrics(hub)).nudge_slow_consumer_drops_total;
  console.log(`chaos: ${EVENTS} events to ${ROOMS} rooms + ${seqOf.get('bulk')} bulk events, ${CLIENTS} clients; ` +
    `${disruptions.drops} drops, ${disruptions.pauses} paused readers, 1 restart; ` +
    `delivered ${delivered}, recovered reconnects ${recovered}, resyncs ${resynced} ` +
    `(covering ${covered} undelivered events), silent losses ${failures.length}; ` +
    `slow-consumer drops ${slowDrops}`);
  assert.deepEqual(failures.slice(0, 20), []);
  assert.ok(recovered > 0, 'some reconnects recovered');
  assert.ok(resynced > 0, 'the restart resynced');
  assert.ok(disruptions.drops > 100);
  assert.ok(slowDrops > 0, 'paused readers were dropped as slow consumers');
});
