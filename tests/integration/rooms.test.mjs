// Backend-driven membership: POST /api/v1/rooms/{join,leave,disconnect} with the API key,
// against real socket.io-clients (Socket.IO's socketsJoin, socketsLeave, disconnectSockets).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHub, seedClient, token, connected, emit, metrics, nextEvent, sleep, eventually, API_KEY,
} from './lib/hub.mjs';

async function rooms(hub, op, body, apiKey = API_KEY) {
  const response = await fetch(`${hub.url}/api/v1/rooms/${op}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

// A socket.io-client of user `sub` recording every event.
async function tab(hub, sub) {
  const socket = seedClient(hub.url, token(sub));
  const received = [];
  socket.onAny((event, ...args) => received.push({ event, args }));
  await connected(socket);
  return { socket, received };
}

let hub;
before(async () => { hub = await startHub(); });
after(async () => { await hub.stop(); });

test('two tabs of user 1 join team_7 through the API, leave it, and are disconnected', async () => {
  const [tab1, tab2, stranger] = await Promise.all([tab(hub, '1'), tab(hub, '1'), tab(hub, '2')]);
  try {
    const joined = await rooms(hub, 'join', { room: 'user_1', join: ['team_7'] });
    assert.equal(joined.status, 202);
    assert.deepEqual(joined.json, { accepted: true });
    // Published right after the 202: the join is applied first on every worker.
    assert.equal((await emit(hub, { room: 'team_7', event: 'board_updated', data: { id: 7 } })).status, 202);
    await eventually(() => tab1.received.length === 1 && tab2.received.length === 1);
    assert.deepEqual(tab1.received[0], { event: 'board_updated', args: [{ id: 7 }] });

    assert.equal((await rooms(hub, 'leave', { room: 'user_1', leave: ['team_7'] })).status, 202);
    await emit(hub, { room: 'team_7', event: 'board_updated' });
    // The user room still works, and is a later event on the same sockets: when it arrived,
    // an earlier team_7 event would have too.
    await emit(hub, { room: 'user_1', event: 'marker' });
    await eventually(() => tab1.received.length === 2 && tab2.received.length === 2);
    assert.equal(tab1.received[1].event, 'marker');
    assert.equal(tab2.received[1].event, 'marker');

    const before = await metrics(hub);
    const reasons = [nextEvent(tab1.socket, 'disconnect'), nextEvent(tab2.socket, 'disconnect')];
    assert.equal((await rooms(hub, 'disconnect', { room: 'user_1' })).status, 202);
    const [[reason1], [reason2]] = await Promise.all(reasons);
    // A Socket.IO DISCONNECT: the client does not reconnect by itself (logout everywhere).
    assert.equal(reason1, 'io server disconnect');
    assert.equal(reason2, 'io server disconnect');
    assert.equal(tab1.socket.active, false);
    await eventually(async () => {
      const m = await metrics(hub);
      return m['nudge_disconnects_total{reason="server_disconnect"}'] ===
        (before['nudge_disconnects_total{reason="server_disconnect"}'] ?? 0) + 2 && m;
    });
    const m = await metrics(hub);
    assert.equal(m['nudge_room_ops_total{op="disconnect"}'], 1);
    assert.equal(m['nudge_room_ops_total{op="join"}'], 1);
    assert.equal(m['nudge_room_op_sockets_total{op="join"}'], 2);
    assert.equal(m['nudge_room_op_sockets_total{op="disconnect"}'], 2);
    assert.ok(stranger.socket.connected, 'user 2 is untouched');
    assert.deepEqual(stranger.received, []);
  } finally {
    for (const t of [tab1, tab2, stranger]) t.socket.close();
  }
});

test('bad membership requests get JSON errors and change nothing', async () => {
  const assertError = (result, status, code) => {
    assert.equal(result.status, status, JSON.stringify(result.json));
    assert.equal(result.json.error.code, code);
    assert.equal(typeof result.json.error.message, 'string');
  };
  assertError(await rooms(hub, 'join', '{"room":', API_KEY), 400, 'invalid_json');
  assertError(await rooms(hub, 'join', { room: 'user_1' }), 400, 'missing_field');
  assertError(await rooms(hub, 'join', { room: 'user_1', join: [''] }), 400, 'invalid_field');
  assertError(await rooms(hub, 'join', { room: 'user_1', join: ['x'.repeat(257)] }), 400, 'invalid_field');
  assertError(await rooms(hub, 'leave', { room: 'user_1', join: ['a'] }), 400, 'unknown_field');
  assertError(await rooms(hub, 'disconnect', {}), 400, 'missing_field');
  assertError(await rooms(hub, 'join', { room: 'user_1', join: ['a'] }, 'wrong'), 401, 'unauthorized');
  const get = await fetch(`${hub.url}/api/v1/rooms/join`);
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
});

test('API-granted rooms are lost on reconnect without --granted-rooms-ttl', async () => {
  const first = await tab(hub, '5');
  try {
    assert.equal((await rooms(hub, 'join', { room: 'user_5', join: ['team_9'] })).status, 202);
    const later = await tab(hub, '5');  // a new tab (or a reconnect) after the join
    try {
      await emit(hub, { room: 'team_9', event: 'board_updated' });
      await emit(hub, { room: 'user_5', event: 'marker' });
      await eventually(() => later.received.length === 1 && first.received.length === 2);
      assert.deepEqual(later.received.map((r) => r.event), ['marker']);
      assert.deepEqual(first.received.map((r) => r.event), ['board_updated', 'marker']);
    } finally {
      later.socket.close();
    }
  } finally {
    first.socket.close();
  }
});

test('a grant the full --max-granted-rooms table refuses is counted on /metrics, by table', async () => {
  const full = await startHub({ args: ['--granted-rooms-ttl', '600', '--max-granted-rooms', '2'] });
  try {
    const before = await metrics(full);
    for (const table of ['idempotency', 'granted_rooms', 'subscribe_hook', 'auth_failures', 'redis_positions']) {
      for (const kind of ['expirations', 'evictions', 'refusals']) {
        assert.ok(`nudge_table_${kind}_total{table="${table}"}` in before, `${kind} of ${table}`);
      }
    }
    const refused = 'nudge_table_refusals_total{table="granted_rooms"}';
    assert.equal(before[refused], 0);
    // Three rooms for one selector in a table of two pairs: the join answers 202 (the sockets
    // connected now join), and the one pair not remembered is counted.
    assert.equal((await rooms(full, 'join', { room: 'user_5', join: ['a', 'b', 'c'] })).status, 202);
    await eventually(async () => (await metrics(full))[refused] === 1);
  } finally {
    await full.stop();
  }
});

test('--granted-rooms-ttl re-applies API-granted rooms to sockets that connect later', async () => {
  const ttlHub = await startHub({ args: ['--granted-rooms-ttl', '600', '--threads', '2'] });
  const sockets = [];
  try {
    const first = await tab(ttlHub, '5');
    sockets.push(first.socket);
    assert.equal((await rooms(ttlHub, 'join', { room: 'user_5', join: ['team_9', 'team_10'] })).status, 202);
    // A reconnect of the first tab and a brand-new tab both get the grant back.
    const reconnected = nextEvent(first.socket, 'connect', 10000);
    first.socket.io.engine.close();
    await reconnected;
    const later = await tab(ttlHub, '5');
    sockets.push(later.socket);
    await emit(ttlHub, { room: 'team_9', event: 'board_updated' });
    await eventually(() => later.received.length === 1 && first.received.length === 1);

    // A leave drops that grant for later connections too.
    assert.equal((await rooms(ttlHub, 'leave', { room: 'user_5', leave: ['team_9'] })).status, 202);
    const third = await tab(ttlHub, '5');
    sockets.push(third.socket);
    await emit(ttlHub, { room: 'team_9', event: 'board_updated' });
    await emit(ttlHub, { room: 'team_10', event: 'other_board' });
    await eventually(() => third.received.length === 1);
    assert.deepEqual(third.received.map((r) => r.event), ['other_board']);

    // Logout everywhere forgets every grant.
    assert.equal((await rooms(ttlHub, 'disconnect', { room: 'user_5' })).status, 202);
    await eventually(() => sockets.every((s) => !s.connected));
    const fresh = await tab(ttlHub, '5');
    sockets.push(fresh.socket);
    await emit(ttlHub, { room: 'team_10', event: 'other_board' });
    await emit(ttlHub, { room: 'user_5', event: 'marker' });
    await eventually(() => fresh.received.length >= 1);
    await sleep(100);
    assert.deepEqual(fresh.received.map((r) => r.event), ['marker']);
  } finally {
    for (const s of sockets) s.close();
    await ttlHub.stop();
  }
});
