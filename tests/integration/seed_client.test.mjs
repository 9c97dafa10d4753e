// The seed's frontend, unchanged, against the real hub: per-user rooms, rooms claim, no leaks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHub, seedClient, token, connected, emit, nextEvent, sleep, metrics, eventually,
} from './lib/hub.mjs';

let hub;
const sockets = [];
before(async () => { hub = await startHub(); });
after(async () => {
  for (const s of sockets) s.disconnect();
  await hub.stop();
});

function client(sub, extra) {
  const socket = seedClient(hub.url, token(sub, extra));
  sockets.push(socket);
  return connected(socket);
}

test('an event emitted to user_<id> reaches that user and nobody else', async () => {
  const alice = await client('123');
  const bob = await client('456');
  const bobGot = [];
  bob.on('balance_updated', (...args) => bobGot.push(args));

  const received = nextEvent(alice, 'balance_updated');
  const result = await emit(hub, { room: 'user_123', event: 'balance_updated', data: { userId: '123' } });
  assert.equal(result.status, 202);
  assert.equal(result.json.accepted, 1);
  assert.deepEqual(await received, [{ userId: '123' }]);

  // A later event to bob proves bob's socket works; the earlier one must not have arrived.
  const bobReceived = nextEvent(bob, 'transaction_happened');
  await emit(hub, { room: 'user_456', event: 'transaction_happened', data: { timestamp: 1 } });
  assert.deepEqual(await bobReceived, [{ timestamp: 1 }]);
  assert.deepEqual(bobGot, []);
});

test('a rooms claim room receives broadcasts, with except honoured', async () => {
  const a = await client('a1', { rooms: ['team_7'] });
  const b = await client('b1', { rooms: ['team_7'] });
  const c = await client('c1', { rooms: ['team_8'] });
  const cGot = [];
  c.on('loan_status_changed', () => cGot.push(1));

  const both = Promise.all([nextEvent(a, 'loan_status_changed'), nextEvent(b, 'loan_status_changed')]);
  await emit(hub, { room: 'team_7', event: 'loan_status_changed', data: { loanId: 9 } });
  assert.deepEqual(await both, [[{ loanId: 9 }], [{ loanId: 9 }]]);

  const bGot = [];
  b.on('profile_updated', () => bGot.push(1));
  const aOnly = nextEvent(a, 'profile_updated');
  await emit(hub, { rooms: ['team_7'], except: ['user_b1'], event: 'profile_updated' });
  assert.deepEqual(await aOnly, []);
  await sleep(100);
  assert.deepEqual(bGot, []);
  assert.deepEqual(cGot, []);
});

test('an event with no data arrives with no arguments; batches deliver every event in order', async () => {
  const d = await client('d1');
  const got = [];
  const all = new Promise((resolve) => {
    d.onAny((event, ...args) => {
      got.push([event, ...args]);
      if (got.length === 3) resolve();
    });
  });
  const result = await emit(hub, {
    events: [
      { room: 'user_d1', event: 'one' },
      { room: 'user_d1', event: 'two', data: [1, 2] },
      { rooms: ['user_d1', 'user_nobody'], event: 'three', data: 'x' },
    ],
  });
  assert.equal(result.json.accepted, 3);
  await all;
  assert.deepEqual(got, [['one'], ['two', [1, 2]], ['three', 'x']]);
});

test('a client cannot join rooms itself and its events are acknowledged, not relayed', async () => {
  const e = await client('e1');
  const f = await client('f1');
  const fGot = [];
  f.onAny((event) => fGot.push(event));
  const ack = await e.timeout(2000).emitWithAck('join', 'user_f1');
  assert.equal(ack.error, 'not_relayed');
  e.emit('balance_updated', { to: 'user_f1' });
  await emit(hub, { room: 'user_f1', event: 'probe' });
  await eventually(() => fGot.includes('probe'));
  assert.deepEqual(fGot, ['probe']);
});

test('metrics count sessions, emits and deliveries', async () => {
  const before = await metrics(hub);
  const g = await client('g1');
  await eventually(async () => (await metrics(hub)).nudge_sessions === before.nudge_sessions + 1);
  const got = nextEvent(g, 'x');
  await emit(hub, { room: 'user_g1', event: 'x' });
  await got;
  const now = await metrics(hub);
  assert.equal(now.nudge_emits_total, before.nudge_emits_total + 1);
  assert.equal(now.nudge_deliveries_total, before.nudge_deliveries_total + 1);
});
