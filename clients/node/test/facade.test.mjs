// The Socket.IO-shaped facade: the seed's Node line runs unchanged with `io` being an emitter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, listener, emitterFor, eventually, sleep, freePort } from './helpers.mjs';
import { createEmitter, NudgeError } from '../dist/index.js';

let hub;
let io;
before(async () => {
  hub = await startHub();
  io = emitterFor(hub);
});
after(async () => {
  io?.close();
  await hub?.stop();
});

test("the seed's io.to(`user_${userId}`).emit(...) line, verbatim", async () => {
  const [target, other] = await Promise.all([listener(hub, '123'), listener(hub, '456')]);
  try {
    const userId = '123';
    const before = Date.now();
    // Phase 4 of the seed, character for character (not awaited, as there).
    io.to(`user_${userId}`).emit('transaction_happened', {
      // Minimal metadata only - no full data
      timestamp: Date.now(),
    })
    await eventually(() => target.received.length === 1);
    const [{ event, args }] = target.received;
    assert.equal(event, 'transaction_happened');
    assert.ok(args[0].timestamp >= before && args[0].timestamp <= Date.now());
    await sleep(200);
    assert.deepEqual(other.received, []);
  } finally {
    target.close();
    other.close();
  }
});

test('to/in chain rooms, except removes, emit resolves with the accepted count', async () => {
  const [a, b, c] = await Promise.all([listener(hub, 'a'), listener(hub, 'b'), listener(hub, 'c')]);
  try {
    const everyone = io.to('user_a').in(['user_b', 'user_c']);
    assert.equal(await everyone.except('user_b').emit('profile_updated', { id: 9 }), 1);
    assert.equal(await io.except('user_a').to('user_a').to('user_c').emit('balance_updated'), 1);
    await eventually(() => a.received.length === 1 && c.received.length === 2);
    assert.deepEqual(a.received, [{ event: 'profile_updated', args: [{ id: 9 }] }]);
    assert.deepEqual(c.received.map((r) => r.event), ['profile_updated', 'balance_updated']);
    await sleep(200);
    assert.deepEqual(b.received, [], 'the chain is immutable: except on one branch does not leak');
  } finally {
    [a, b, c].forEach((l) => l.close());
  }
});

test('what Socket.IO allows but the hub cannot do is refused, not dropped', async () => {
  await assert.rejects(io.except('user_a').emit('x'), (error) => {
    assert.ok(error instanceof NudgeError);
    assert.equal(error.code, 'invalid_argument');
    assert.match(error.message, /needs a room: use io\.to\(room\)/);
    assert.equal(error.attempts, 0);
    return true;
  });
  await assert.rejects(io.to('user_a').emit('x', 1, 2), { code: 'invalid_argument', message: /one data argument/ });
  await assert.rejects(io.to('user_a').emit('x', () => {}), { code: 'invalid_argument' });
  await assert.rejects(io.to('').emit('x'), { code: 'invalid_argument', message: /non-empty strings/ });
  await assert.rejects(io.to('user_a').emit(''), { code: 'invalid_argument', message: /event name/ });
  await assert.rejects(io.to('user_a').emit('x', { n: 1n }), { code: 'invalid_argument', message: /cannot be sent as JSON/ });
});

test('onError sees an un-awaited failure, and it is not an unhandled rejection', async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const seen = [];
  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const down = createEmitter({ url, apiKey: 'k', retries: 0, onError: (error) => seen.push(error) });
  try {
    down.to('user_1').emit('transaction_happened', { timestamp: Date.now() });
    await eventually(() => seen.length === 1);
    await sleep(50);
    assert.equal(seen[0].code, 'unreachable');
    assert.deepEqual(unhandled, []);
    // Awaiting callers still get the rejection.
    await assert.rejects(down.emitEvent(1, 'balance_updated'), { code: 'unreachable' });
    assert.equal(seen.length, 2, 'reported once per failed call');
  } finally {
    process.off('unhandledRejection', onUnhandled);
    down.close();
  }
});

test("Socket.IO's socketsJoin, socketsLeave and disconnectSockets lines, unchanged", async () => {
  const [tab1, tab2, other] = await Promise.all([listener(hub, '77'), listener(hub, '77'), listener(hub, '78')]);
  try {
    const userId = '77';
    // As in Socket.IO server code (or @socket.io/redis-emitter).
    await io.in(`user_${userId}`).socketsJoin('team_7');
    await io.to('team_7').emit('board_updated', { id: 7 });
    await eventually(() => tab1.received.length === 1 && tab2.received.length === 1);
    assert.deepEqual(tab1.received[0], { event: 'board_updated', args: [{ id: 7 }] });

    await io.in(`user_${userId}`).socketsLeave(['team_7']);
    await io.to('team_7').emit('board_updated', { id: 8 });
    await io.to(`user_${userId}`).emit('marker');
    await eventually(() => tab1.received.length === 2 && tab2.received.length === 2);
    assert.equal(tab2.received[1].event, 'marker');

    const closed = Promise.all([tab1, tab2].map((t) => new Promise((resolve) => t.socket.once('disconnect', resolve))));
    await io.in(`user_${userId}`).disconnectSockets(true);
    assert.deepEqual(await closed, ['io server disconnect', 'io server disconnect']);
    assert.ok(other.socket.connected);
    assert.deepEqual(other.received, []);
  } finally {
    [tab1, tab2, other].forEach((l) => l.close());
  }
});

test('membership calls without a room or with bad rooms are refused before sending', async () => {
  await assert.rejects(io.except('user_a').socketsJoin('x'), { code: 'invalid_argument', message: /socketsJoin\(\) needs a room/ });
  await assert.rejects(io.in('user_a').socketsJoin([]), { code: 'invalid_argument', message: /socketsJoin rooms must not be empty/ });
  await assert.rejects(io.in('user_a').socketsLeave(''), { code: 'invalid_argument' });
  await assert.rejects(io.except('x').disconnectSockets(), { code: 'invalid_argument', message: /disconnectSockets\(\) needs a room/ });
});
