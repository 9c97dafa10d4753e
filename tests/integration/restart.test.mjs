// A restart costs nothing (--state-dir): the embedded broker saves its history at SIGTERM and
// reloads it at start, so 1,000 real socket.io-clients (opted in with auth.recovery on the
// default --recovery auto) come back with socket.recovered === true
// and every event published while the hub was down (the Node emitter retries until it answers)
// arrives once, in order, with zero nudge:resync. A state file that cannot be trusted (truncated,
// or none after a kill -9) falls back to a resync: never a wrong or duplicated event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { createEmitter } from '../../clients/node/dist/index.js';
import {
  startHub, token, connected, emit, eventually, freePort, metrics, API_KEY, SECRET, NUDGED_BIN, SLOW,
} from './lib/hub.mjs';

const ROOMS = 10;
const room = (i) => `room_${i % ROOMS}`;

// The default --recovery auto: the clients opt in with auth.recovery, as @nudge/query-core does.
async function restartableHub(port, stateDir) {
  return startHub({ port, args: ['--recovery', 'auto', '--state-dir', stateDir] });
}

// The seed's client options, opting in to recovery.
function recoveringClient(url, authToken) {
  return io(url, {
    auth: { token: authToken, recovery: true },
    transports: ['websocket'],
    reconnection: true,
    reconnectionAttempts: 10,
    reconnectionDelay: 1000,
  });
}

// `n` seed clients, client i in room_(i % ROOMS); each records the `i` of every 'n' event, every
// nudge:resync and the `recovered` of every connect.
async function clients(url, n) {
  const sockets = [];
  for (let from = 0; from < n; from += 250) {
    const batch = [];
    for (let i = from; i < Math.min(n, from + 250); i++) {
      const s = recoveringClient(url, token(`u${i}`, { rooms: [room(i)] }));
      s.room = room(i);
      s.got = [];
      s.resyncs = [];
      s.connects = [];
      s.markers = new Set();
      s.on('n', (data) => s.got.push(data.i));
      s.on('marker', (data) => s.markers.add(data.id));
      s.on('nudge:resync', (data) => s.resyncs.push(data));
      s.on('connect', () => s.connects.push(s.recovered));
      batch.push(s);
    }
    await Promise.all(batch.map(connected));
    sockets.push(...batch);
  }
  return sockets;
}

// Events `from` .. `from + count - 1`, event i to room_(i % ROOMS): one chain of sequential
// emits per room (so each room's order is the publish order), all chains at once.
function publishAll(emitter, from, count) {
  const chains = [];
  for (let r = 0; r < ROOMS; r++) {
    chains.push((async () => {
      for (let i = from; i < from + count; i++) {
        if (i % ROOMS === r) assert.equal(await emitter.emit(room(i), 'n', { i }), 1);
      }
    })());
  }
  return Promise.all(chains);
}

const expected = (r, upTo) => Array.from({ length: upTo }, (_, i) => i).filter((i) => room(i) === r);

// Nothing more is on its way: one marker per room, published after everything else, reached
// every client (each room's events arrive in order, so a late duplicate would precede it).
let markerId = 0;
async function settle(hub, sockets) {
  const ids = {};
  for (let r = 0; r < ROOMS; r++) {
    ids[room(r)] = ++markerId;
    assert.equal((await emit(hub, { room: room(r), event: 'marker', data: { id: ids[room(r)] } })).status, 202);
  }
  await eventually(() => sockets.every((s) => s.markers.has(ids[s.room])), { timeoutMs: 20000 * SLOW, intervalMs: 100 });
}

function reconnects(sockets) {
  return sockets.map((s) => new Promise((resolve) => s.io.once('reconnect', resolve)));
}

test('SIGTERM with 1,000 clients and 100 events published during the restart: every client recovers and gets every event once, in order, with zero resync', async () => {
  const N = 1000;
  const BEFORE = 20;
  const DURING = 100;
  const stateDir = mkdtempSync(join(tmpdir(), 'nudge-state-'));
  const port = await freePort();
  let hub = await restartableHub(port, stateDir);
  const emitter = createEmitter({ url: hub.url, apiKey: API_KEY });
  let sockets = [];
  try {
    sockets = await clients(hub.url, N);
    await publishAll(emitter, 0, BEFORE);
    await eventually(() => sockets.every((s) => s.got.length === BEFORE / ROOMS), { timeoutMs: 20000 * SLOW, intervalMs: 100 });

    const back = reconnects(sockets);
    const { code } = await hub.stop('SIGTERM');
    assert.equal(code, 0);
    assert.ok(existsSync(join(stateDir, 'nudged.state')), 'the state file was written at SIGTERM');
    // The emitter starts while nothing listens on the port: every chain's first attempt fails
    // and is retried until the new hub answers.
    const during = publishAll(emitter, BEFORE, DURING);
    hub = await restartableHub(port, stateDir);
    assert.ok(!existsSync(join(stateDir, 'nudged.state')), 'the state file is used once: removed at start');
    await during;
    await Promise.all(back);
    await settle(hub, sockets);

    for (const s of sockets) {
      assert.deepEqual(s.got, expected(s.room, BEFORE + DURING), `events of a client of ${s.room}`);
      assert.deepEqual(s.resyncs, [], 'no nudge:resync');
      assert.deepEqual(s.connects, [false, true], 'recovered === true on the reconnect');
    }
    const m = await metrics(hub);
    assert.equal(m.nudge_sessions_recovered_total, N);
    assert.equal(m.nudge_sessions_resynced_total ?? 0, 0);
    console.log(`# ${N} clients recovered across the restart; events replayed ${m.nudge_events_replayed_total}`);
  } finally {
    emitter.close();
    for (const s of sockets) s.disconnect();
    await hub.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

// The fallback cases: the clients of the restarted hub get a nudge:resync naming their room and
// recovered === false; what they do get is a subsequence of their room's events, in order, once.
// `spoil` stops the hub its own way and returns the one the clients end on, after `hops`
// reconnects of every client.
async function fallback(spoil, hops) {
  const N = 200;
  const stateDir = mkdtempSync(join(tmpdir(), 'nudge-state-'));
  const port = await freePort();
  let hub = await restartableHub(port, stateDir);
  const emitter = createEmitter({ url: hub.url, apiKey: API_KEY });
  let sockets = [];
  try {
    sockets = await clients(hub.url, N);
    await publishAll(emitter, 0, 20);
    await eventually(() => sockets.every((s) => s.got.length === 2), { timeoutMs: 20000 * SLOW, intervalMs: 100 });

    hub = await spoil({ hub, port, stateDir, emitter, sockets });
    const during = publishAll(emitter, 20, 100);
    await eventually(() => sockets.every((s) => s.connects.length === 1 + hops), { timeoutMs: 60000 * SLOW, intervalMs: 100 });
    await during;
    await settle(hub, sockets);

    for (const s of sockets) {
      assert.equal(s.connects.at(-1), false, 'not recovered');
      assert.equal(s.resyncs.length, 1, 'one nudge:resync');
      assert.ok(s.resyncs[0].rooms.includes(s.room), `the resync names ${s.room}`);
      assert.ok(s.got.every((i) => room(i) === s.room), 'only events of its room');
      assert.deepEqual(s.got, [...new Set(s.got)].sort((a, b) => a - b), 'in order, each once');
      assert.deepEqual(s.got.slice(0, 2), expected(s.room, 20));
    }
    assert.equal((await metrics(hub)).nudge_sessions_recovered_total ?? 0, 0);
  } finally {
    emitter.close();
    for (const s of sockets) s.disconnect();
    await hub.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

test('a truncated state file is not used: the clients resync, no wrong or duplicated event', async () => {
  await fallback(async ({ hub, port, stateDir }) => {
    assert.equal((await hub.stop('SIGTERM')).code, 0);
    const file = join(stateDir, 'nudged.state');
    truncateSync(file, Math.floor(readFileSync(file).length / 2));
    const restarted = await restartableHub(port, stateDir);
    assert.ok(!existsSync(file), 'the bad file is removed, not read again at the next start');
    return restarted;
  }, 1);
});

test('after a kill -9 the state file of an earlier stop is not reused: the clients resync', async () => {
  await fallback(async ({ hub, port, stateDir, emitter, sockets }) => {
    // A graceful restart first: the clients recover on the second hub, which took the file…
    assert.equal((await hub.stop('SIGTERM')).code, 0);
    const second = await restartableHub(port, stateDir);
    await eventually(() => sockets.every((s) => s.connects.length === 2), { timeoutMs: 60000 * SLOW, intervalMs: 100 });
    assert.ok(sockets.every((s) => s.connects[1] === true));
    // …and hands out positions of the same epoch after it: a reused file would repeat them.
    await publishAll(emitter, 1000, 10);
    await eventually(() => sockets.every((s) => s.got.length === 3), { timeoutMs: 20000 * SLOW, intervalMs: 100 });
    assert.equal((await second.stop('SIGKILL')).signal, 'SIGKILL');
    assert.ok(!existsSync(join(stateDir, 'nudged.state')));
    return restartableHub(port, stateDir);
  }, 2);
});

test('a --state-dir that is not a writable directory stops the start with a message naming it', async () => {
  const missing = join(tmpdir(), `nudge-no-such-dir-${process.pid}`);
  const args = ['--jwt-secret', SECRET, '--api-key', API_KEY, '--host', '127.0.0.1', '--port', '0'];
  await assert.rejects(promisify(execFile)(NUDGED_BIN, [...args, '--state-dir', missing, '--check-config']), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, new RegExp(`^nudged: --state-dir: cannot use the state directory ${missing}: No such file or directory`));
    return true;
  });
  await assert.rejects(startHub({ args: ['--state-dir', missing] }), /exited \(2\)[\s\S]*--state-dir: cannot use the state directory/);
  // Set through the environment, as the systemd unit does; accepted and shown by --check-config.
  const dir = mkdtempSync(join(tmpdir(), 'nudge-state-'));
  try {
    const { stdout } = await promisify(execFile)(NUDGED_BIN, [...args, '--check-config'], { env: { ...process.env, NUDGE_STATE_DIR: dir } });
    assert.match(stdout, new RegExp(`state dir\\s+${dir}\n`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
