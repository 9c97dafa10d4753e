// Per-session delivery (issues 22 and 23, docs/delivery.md): on a hub with default settings
// (--recovery auto), socket.io-client 4.x and python-socketio with their default options get
// exactly `["event", data]` and no pid; a client that asks with auth.recovery gets a pid and
// offsets; one that sends auth.nudge = 1 also gets nudge's metadata argument
// ({"$nudge":{"v":…,"s":…}}) on events with a version or a spread window, including the window
// the hub derives from --refetch-rate and the room's members.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { startHub, token, emit, connected, nextEvent, eventually, untimed, SLOW } from './lib/hub.mjs';
import { startRedis } from './lib/redis.mjs';

const PYTHON_CLIENT = fileURLToPath(new URL('./lib/python_client.py', import.meta.url));
const sockets = [];
after(() => { for (const s of sockets) s.close(); });

function client(hub, sub, auth = {}, extra = {}) {
  const socket = io(hub.url, { auth: { token: token(sub, extra), ...auth }, transports: ['websocket'] });
  sockets.push(socket);
  return socket;
}

async function published(hub, body) {
  const r = await emit(hub, body);
  assert.equal(r.status, 202, r.text);
  return r.json;
}

test('default hub: a plain socket.io-client gets no pid and no offset; one that asks gets both', async () => {
  const hub = await startHub({ recovery: null });
  try {
    const plain = await connected(client(hub, 'plain'));
    const asks = await connected(client(hub, 'asks', { recovery: true }));
    assert.equal(plain._pid, undefined);
    assert.equal(typeof asks._pid, 'string');
    const a = nextEvent(plain, 'balance_updated');
    const b = nextEvent(asks, 'balance_updated');
    // A version and a spread change nothing for clients that did not send auth.nudge.
    await published(hub, { rooms: ['user_plain', 'user_asks'], event: 'balance_updated', data: { v: 1 }, version: '0/16b3748', spread: 3000 });
    assert.deepEqual(await a, [{ v: 1 }]);
    // socket.io-client passes the offset to handlers as the last argument and keeps it.
    const [data, offset] = await b;
    assert.deepEqual(data, { v: 1 });
    assert.match(offset, /^[^:]+:1$/);
    assert.equal(asks._lastOffset, offset);
    assert.equal(plain._lastOffset, undefined);
  } finally {
    await hub.stop();
  }
});

test('default hub: python-socketio with default options gets the event as its one argument', async () => {
  const hub = await startHub({ recovery: null });
  const child = spawn('/usr/bin/python3', [PYTHON_CLIENT, hub.url, token('py'), 'balance_updated'], {
    env: { ...process.env, NUDGE_PY_TRANSPORTS: 'default' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const records = [];
  createInterface({ input: child.stdout }).on('line', (line) => records.push(JSON.parse(line)));
  try {
    await eventually(() => records.some((r) => r.type === 'transport'), { timeoutMs: 10000 * SLOW });
    // The handler takes exactly one argument: an offset after the data would raise TypeError
    // in it and the event would never be printed.
    await eventually(async () => {
      await published(hub, { room: 'user_py', event: 'balance_updated', data: { v: 2 }, version: 7 });
      return records.some((r) => r.type === 'event' && r.data?.v === 2);
    }, { timeoutMs: 10000 * SLOW, intervalMs: 500 });
  } finally {
    child.kill();
    await hub.stop();
  }
});

test('auth.nudge: the metadata argument sits between the data and the offset, only when there is metadata', async () => {
  const hub = await startHub({ recovery: null });
  try {
    const socket = await connected(client(hub, 'n1', { nudge: 1 }));
    assert.equal(typeof socket._pid, 'string');  // nudge implies recovery
    const raw = [];
    socket.io.engine.on('packet', (p) => { if (p.type === 'message') raw.push(p.data); });
    const events = [];
    socket.onAny((name, ...args) => events.push([name, ...args]));
    await published(hub, { room: 'user_n1', event: 'a', data: { x: 1 }, version: '00A/016B3748', spread: 3000 });
    await published(hub, { room: 'user_n1', event: 'b', version: 42 });
    await published(hub, { room: 'user_n1', event: 'c', data: 5 });
    await eventually(() => events.length === 3);
    // Each ends with its offset (socket.io-client hands it to handlers; readEventArgs drops it).
    for (const e of events) assert.match(e.pop(), /^[^:]+:[123]$/);
    assert.deepEqual(events.map((e) => untimed(e)), [
      ['a', { x: 1 }, { $nudge: { v: 'A/16B3748', s: 3000 } }],
      ['b', null, { $nudge: { v: '42' } }],
      ['c', 5],
    ]);
    assert.match(raw[0], /^2\["a",\{"x":1\},\{"\$nudge":\{"v":"A\/16B3748","s":3000,"t":\d+\}\},"[^:"]+:1"\]$/);
    // A blip: the missed event is replayed in the same form, and the session is recovered.
    const back = new Promise((resolve) => socket.once('connect', resolve));
    socket.io.engine.close();
    await published(hub, { room: 'user_n1', event: 'd', data: 6, version: '0/FF' });
    await back;
    assert.equal(socket.recovered, true);
    await eventually(() => events.length === 4);
    assert.match(events[3].pop(), /^[^:]+:4$/);
    assert.deepEqual(events[3], ['d', 6, { $nudge: { v: '0/FF' } }]);
  } finally {
    await hub.stop();
  }
});

test('--refetch-rate: the window is the room\'s members / rate, sent only to auth.nudge sessions', async () => {
  const hub = await startHub({ recovery: null, args: ['--refetch-rate', '2'] });
  try {
    const rooms = { rooms: ['rates'] };
    const n = await Promise.all([1, 2, 3].map((i) => connected(client(hub, `r${i}`, { nudge: 1 }, rooms))));
    const plain = await connected(client(hub, 'r4', {}, rooms));
    // 4 members at 2 requests/s: 2000 ms. A larger spread on the event wins.
    const got = n.map((s) => nextEvent(s, 'rates_updated'));
    const plainGot = nextEvent(plain, 'rates_updated');
    await published(hub, { room: 'rates', event: 'rates_updated', data: { eur: 1 } });
    const withoutOffset = (args) => {
      assert.equal(typeof args.at(-1), 'string');
      return untimed(args.slice(0, -1));
    };
    for (const args of await Promise.all(got)) assert.deepEqual(withoutOffset(args), [{ eur: 1 }, { $nudge: { s: 2000 } }]);
    assert.deepEqual(await plainGot, [{ eur: 1 }]);
    const wide = nextEvent(n[0], 'rates_updated');
    await published(hub, { room: 'rates', event: 'rates_updated', spread: 9000 });
    assert.deepEqual(withoutOffset(await wide), [null, { $nudge: { s: 9000 } }]);
    // A per-user room of one member: 500 ms.
    const own = nextEvent(n[1], 'balance_updated');
    await published(hub, { room: 'user_r2', event: 'balance_updated' });
    assert.deepEqual(withoutOffset(await own), [null, { $nudge: { s: 500 } }]);
  } finally {
    await hub.stop();
  }
});

test('--recovery on still gives every client offsets; --recovery off gives nobody a pid', async () => {
  const on = await startHub({ recovery: 'on' });
  const off = await startHub({ recovery: 'off' });
  try {
    const everyone = await connected(client(on, 'o1'));
    assert.equal(typeof everyone._pid, 'string');
    const asks = await connected(client(off, 'o2', { recovery: true, nudge: 1 }));
    assert.equal(asks._pid, undefined);
    const e = nextEvent(asks, 'x');
    await published(off, { room: 'user_o2', event: 'x', data: 1, version: '3' });
    assert.deepEqual(await e, [1, { $nudge: { v: '3' } }]);
  } finally {
    await on.stop();
    await off.stop();
  }
});

test('Redis broker, default recovery: per-hub windows, plain clients untouched, a replay in the nudge form', async () => {
  const redis = await startRedis();
  const args = ['--broker', redis.url, '--refetch-rate', '1'];
  const a = await startHub({ recovery: null, args });
  const b = await startHub({ recovery: null, args });
  try {
    for (const hub of [a, b]) {
      await eventually(async () => (await (await fetch(`${hub.url}/healthz`)).json()).broker.connected);
    }
    const rooms = { rooms: ['shared'] };
    const plain = await connected(client(a, 'p1', {}, rooms));
    const other = await connected(client(a, 'p2', { nudge: 1 }, rooms));
    const nudge = await connected(client(b, 'n2', { nudge: 1 }, rooms));
    assert.equal(plain._pid, undefined);
    const got = [nextEvent(plain, 'e'), nextEvent(other, 'e'), nextEvent(nudge, 'e')];
    await published(a, { room: 'shared', event: 'e', data: 1, version: '5' });
    const [p, o, n] = await Promise.all(got);
    assert.deepEqual(p, [1]);
    // Each hub's window is its own members / rate: 2 on a, 1 on b.
    assert.deepEqual(untimed(o.slice(0, -1)), [1, { $nudge: { v: '5', s: 2000 } }]);
    assert.deepEqual(untimed(n.slice(0, -1)), [1, { $nudge: { v: '5', s: 1000 } }]);
    // A blip on b: the event it missed is replayed from Redis in its form (a replay carries
    // the event's own spread and version, not a window derived now) and the session is recovered.
    const back = new Promise((resolve) => nudge.once('connect', resolve));
    const replayed = [];
    nudge.on('missed', (...args) => replayed.push(args));
    nudge.io.engine.close();
    await published(a, { room: 'shared', event: 'missed', data: 2, version: '0/6', spread: 700 });
    await back;
    assert.equal(nudge.recovered, true);
    await eventually(() => replayed.length === 1);
    assert.match(replayed[0].pop(), /^[^:]+:[0-9]+$/);
    assert.deepEqual(untimed(replayed[0]), [2, { $nudge: { v: '0/6', s: 700 } }]);
  } finally {
    await a.stop();
    await b.stop();
    await redis.stop();
  }
});
