// emit / emitEvent / emitMany against the real hub: each event reaches every socket of the
// right user and no one else's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, listener, emitterFor, eventually, sleep, untimed } from './helpers.mjs';

let hub;
let emitter;
before(async () => {
  hub = await startHub({ args: ['--max-batch', '10'] });
  emitter = emitterFor(hub, { maxBatch: 10 });
});
after(async () => {
  emitter?.close();
  await hub?.stop();
});

test('emitEvent reaches every socket of that user and no other user', async () => {
  const [aliceTab1, aliceTab2, bob] = await Promise.all([
    listener(hub, 'alice'), listener(hub, 'alice'), listener(hub, 'bob'),
  ]);
  try {
    assert.equal(await emitter.emitEvent('alice', 'balance_updated', { userId: 'alice' }), 1);
    assert.equal(await emitter.emitEvent('alice', 'profile_updated'), 1);
    const expected = [
      { event: 'balance_updated', args: [{ userId: 'alice' }] },
      { event: 'profile_updated', args: [{}] }, // the seed's `metadata or {}`
    ];
    await eventually(() => aliceTab1.received.length === 2 && aliceTab2.received.length === 2);
    assert.deepEqual(aliceTab1.received, expected);
    assert.deepEqual(aliceTab2.received, expected);
    await sleep(200);
    assert.deepEqual(bob.received, []);
  } finally {
    [aliceTab1, aliceTab2, bob].forEach((l) => l.close());
  }
});

test('emit to several rooms with except, and without data', async () => {
  const [u1, u2, u3] = await Promise.all([listener(hub, '1'), listener(hub, '2'), listener(hub, '3')]);
  try {
    assert.equal(await emitter.emit(['user_1', 'user_2', 'user_3'], 'loan_status_changed', undefined, { except: 'user_2' }), 1);
    await eventually(() => u1.received.length === 1 && u3.received.length === 1);
    assert.deepEqual(u1.received, [{ event: 'loan_status_changed', args: [] }]);
    await sleep(200);
    assert.deepEqual(u2.received, []);
  } finally {
    [u1, u2, u3].forEach((l) => l.close());
  }
});

test('emitMany splits 25 events into batches the hub takes (--max-batch 10), in order', async () => {
  const user = await listener(hub, 'many');
  try {
    const events = Array.from({ length: 25 }, (_, i) => ({ room: 'user_many', event: 'tick', data: { i } }));
    assert.equal(await emitter.emitMany(events), 25);
    await eventually(() => user.received.length === 25);
    assert.deepEqual(user.received.map(({ args }) => args[0].i), events.map((_, i) => i));
  } finally {
    user.close();
  }
});

test('a failing batch: the error says how many events the batches before it delivered', async () => {
  const events = Array.from({ length: 15 }, (_, i) => ({ room: 'user_x', event: i === 12 ? 'connect' : 'tick' }));
  await assert.rejects(emitter.emitMany(events), (error) => {
    assert.equal(error.code, 'bad_request');
    assert.equal(error.hubCode, 'reserved_event');
    assert.equal(error.accepted, 10);
    assert.equal(error.attempts, 1);
    return true;
  });
});

test('a batch larger than the hub allows is refused whole', async () => {
  const tooBig = emitterFor(hub, { maxBatch: 11 });
  try {
    await assert.rejects(tooBig.emitMany(Array.from({ length: 11 }, () => ({ room: 'user_x', event: 'tick' }))),
      { code: 'bad_request', hubCode: 'too_many_events', accepted: 0 });
  } finally {
    tooBig.close();
  }
});

test('the same batch with ids emitted twice is delivered once; the hub answers each offset', async () => {
  const carol = await listener(hub, 'carol');
  try {
    const batch = [0, 1, 2].map((i) => ({ room: 'user_carol', event: 'n', data: { i }, id: `carol-${i}` }));
    assert.equal(await emitter.emitMany(batch), 3);
    assert.equal(await emitter.emitMany(batch), 3);
    await eventually(() => carol.received.length === 3);
    await sleep(300);
    assert.deepEqual(carol.received.map((r) => r.args[0].i), [0, 1, 2]);
  } finally {
    carol.close();
  }
});

test('version and spread reach a client that opted in with auth.nudge as the metadata argument', async () => {
  const { io } = await import('socket.io-client');
  const { token, connected } = await import('./helpers.mjs');
  const socket = io(hub.url, { auth: { token: token('versions'), nudge: 1 }, transports: ['websocket'] });
  const plain = await listener(hub, 'versions');
  const received = [];
  socket.onAny((event, ...args) => received.push({ event, args }));
  try {
    await connected(socket);
    await emitter.emit('user_versions', 'a', { n: 1 }, { version: '0/16b3748', spread: 3000 });
    await emitter.emitEvent('versions', 'b', { n: 2 }, { version: 2 ** 53 - 1 });
    await emitter.emitMany([{ room: 'user_versions', event: 'c', version: (1n << 64n) - 1n },
      { room: 'user_versions', event: 'd' }]);
    await eventually(() => received.length === 4 && plain.received.length === 4);
    const meta = (args) => args.filter((arg) => arg !== null && typeof arg === 'object' && '$nudge' in arg);
    assert.deepEqual(received.map(({ event, args }) => [event, args[0], untimed(meta(args))]), [
      ['a', { n: 1 }, [{ $nudge: { v: '0/16B3748', s: 3000 } }]],
      ['b', { n: 2 }, [{ $nudge: { v: '9007199254740991' } }]],
      ['c', null, [{ $nudge: { v: '18446744073709551615' } }]],  // no data: null before the metadata
      ['d', undefined, []],
    ]);
    // A plain client sees exactly what it saw before: the data alone.
    assert.deepEqual(plain.received.map(({ args }) => args), [[{ n: 1 }], [{ n: 2 }], [], []]);
  } finally {
    socket.close();
    plain.close();
  }
});
