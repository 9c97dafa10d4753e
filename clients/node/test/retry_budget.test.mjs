// The default retry policy rides out a hub whose Redis broker is down for ~30 s: while Redis is
// unreachable the hub answers 503 broker_unavailable with Retry-After: 1; the emitter waits
// 1, 2, 4, 8, 8, … s (from the Retry-After, doubling, capped at 8 s, ±20 %) until 30 s have
// passed since the first attempt, with the same event ids on every attempt. A fake clock (the
// `clock` option) makes the waits instant and, without jitter, exact.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { API_KEY, startHub, listener, eventually, sleep, scriptedServer, reply, accepted, freePort } from './helpers.mjs';
import { createEmitter } from '../dist/index.js';

const unavailable = reply(503, { error: { code: 'broker_unavailable', message: 'the message broker is unreachable' } },
  { 'retry-after': '1' });
const invalid = reply(400, { error: { code: 'invalid_field', message: 'room: too long' } });

/** A clock whose sleeps only move its time on; `jitter: false` multiplies every wait by 1. */
function fakeClock({ jitter = true } = {}) {
  let time = 0;
  const waits = [];
  return {
    waits,
    clock: {
      now: () => time,
      sleep: async (ms) => { waits.push(ms); time += ms; },
      ...(jitter ? {} : { jitter: () => 1 }),
    },
  };
}

const ids = (server) => server.requests.map((r) => JSON.parse(r.body).id);

async function withServer(script, options, body) {
  const server = await scriptedServer(script);
  const emitter = createEmitter({ url: server.url, apiKey: API_KEY, ...options });
  try {
    await body(server, emitter);
  } finally {
    emitter.close();
    await server.close();
  }
}

let hub;
before(async () => { hub = await startHub(); });
after(async () => { await hub?.stop(); });

// In front of the real hub: the first five requests get the hub's 503 broker_unavailable (as
// from a hub whose Redis is down), the next ones are forwarded to the hub.
const forward = async (res, body, req) => {
  const answer = await fetch(hub.url + req.url, {
    method: 'POST', body, headers: { authorization: req.headers.authorization, 'content-type': 'application/json' },
  });
  reply(answer.status, await answer.text())(res);
};

test('five 503 broker_unavailable then the hub: one delivery, one id, waits from Retry-After', async () => {
  const user = listener(hub, 'retry-budget-1');
  const socket = await user;
  const { waits, clock } = fakeClock();
  try {
    await withServer([unavailable, unavailable, unavailable, unavailable, unavailable, forward], { clock },
      async (server, emitter) => {
        assert.equal(await emitter.emitEvent('retry-budget-1', 'balance_updated', { n: 1 }), 1);
        assert.equal(server.requests.length, 6);
        const sent = ids(server);
        assert.match(sent[0], /^[0-9a-f-]{36}$/);
        assert.deepEqual(new Set(sent), new Set([sent[0]]), 'the same id on every attempt');
      });
    await eventually(() => socket.received.length >= 1);
    await sleep(300);
    assert.equal(socket.received.length, 1, 'delivered once');
    assert.equal(socket.received[0].event, 'balance_updated');
    assert.deepEqual(socket.received[0].args[0], { n: 1 });
  } finally {
    socket.close();
  }
  assert.equal(waits.length, 5);
  [1000, 2000, 4000, 8000, 8000].forEach((full, i) => {
    assert.ok(waits[i] >= Math.max(1000, full * 0.8) && waits[i] <= full * 1.2, `wait ${i}: ${waits[i]} ms`);
  });
});

test('emitMany keeps its ids across retries', async () => {
  const { clock } = fakeClock();
  await withServer([unavailable, unavailable, unavailable, unavailable, unavailable, accepted], { clock },
    async (server, emitter) => {
      const events = [0, 1, 2].map((n) => ({ room: 'user_1', event: `e${n}` }));
      assert.equal(await emitter.emitMany(events), 3);
      assert.equal(server.requests.length, 6);
      const batches = server.requests.map((r) => JSON.parse(r.body).events.map((e) => e.id));
      for (const batch of batches) assert.deepEqual(batch, batches[0]);
      assert.equal(new Set(batches[0]).size, 3);
    });
});

test('the budget spent: the error names the last status and code', async () => {
  const { waits, clock } = fakeClock({ jitter: false });
  await withServer([unavailable], { clock }, async (server, emitter) => {
    await assert.rejects(emitter.emit('user_1', 'balance_updated'), (error) => {
      assert.equal(error.code, 'overloaded');
      assert.equal(error.status, 503);
      assert.equal(error.hubCode, 'broker_unavailable');
      assert.equal(error.attempts, 7);
      assert.match(error.message,
        /cannot reach its message broker \(503 broker_unavailable\): .*\(gave up after 7 attempts, retry budget of 30000 ms spent\)$/);
      return true;
    });
    // 1, 2, 4, 8, 8 s (23 s), then the 7 s left of the 30 s budget, then one last attempt.
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 8000, 7000]);
    assert.equal(server.requests.length, 7);
    assert.equal(new Set(ids(server)).size, 1);
  });
});

test('retryBudgetMs sets the budget; 0 means a single attempt', async () => {
  const short = fakeClock({ jitter: false });
  await withServer([unavailable], { clock: short.clock, retryBudgetMs: 2500 }, async (server, emitter) => {
    await assert.rejects(emitter.emit('user_1', 'x'), { attempts: 3, message: /retry budget of 2500 ms spent\)$/ });
    assert.deepEqual(short.waits, [1000, 1500]);
  });
  const none = fakeClock();
  await withServer([unavailable], { clock: none.clock, retryBudgetMs: 0 }, async (server, emitter) => {
    await assert.rejects(emitter.emit('user_1', 'x'), { attempts: 1, hubCode: 'broker_unavailable' });
    assert.deepEqual(none.waits, []);
  });
});

test('retries still bounds the attempts within the budget', async () => {
  const { waits, clock } = fakeClock();
  await withServer([unavailable], { clock, retries: 2 }, async (server, emitter) => {
    await assert.rejects(emitter.emit('user_1', 'x'), { attempts: 3, message: /\(gave up after 3 attempts\)$/ });
    assert.equal(server.requests.length, 3);
    assert.equal(waits.length, 2);
  });
});

test('an unreachable hub is retried for the whole budget, from 500 ms', async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const { waits, clock } = fakeClock({ jitter: false });
  const down = createEmitter({ url, apiKey: API_KEY, clock });
  await assert.rejects(down.emitEvent(1, 'balance_updated'), {
    code: 'unreachable', attempts: 8,
    message: /connection refused .*\(gave up after 8 attempts, retry budget of 30000 ms spent\)$/,
  });
  assert.deepEqual(waits, [500, 1000, 2000, 4000, 8000, 8000, 6500]);
});

test('dropped connections are retried with the same id', async () => {
  const { clock } = fakeClock();
  const drop = (res) => res.socket.destroy();
  await withServer([drop, unavailable, drop, accepted], { clock }, async (server, emitter) => {
    assert.equal(await emitter.emit('user_1', 'x'), 1);
    assert.equal(server.requests.length, 4);
    assert.equal(new Set(ids(server)).size, 1);
  });
});

test('a 400 is never retried, even after 503s', async () => {
  const { waits, clock } = fakeClock();
  await withServer([unavailable, unavailable, invalid], { clock }, async (server, emitter) => {
    await assert.rejects(emitter.emit('user_1', 'x'), { code: 'bad_request', status: 400, hubCode: 'invalid_field', attempts: 3 });
    assert.equal(server.requests.length, 3);
    assert.equal(waits.length, 2);
  });
  const first = fakeClock();
  await withServer([invalid, accepted], { clock: first.clock }, async (server, emitter) => {
    await assert.rejects(emitter.emit('user_1', 'x'), { code: 'bad_request', attempts: 1 });
    assert.equal(server.requests.length, 1);
    assert.deepEqual(first.waits, []);
  });
});

test('a negative retryBudgetMs is refused', () => {
  assert.throws(() => createEmitter({ url: 'http://127.0.0.1:1', apiKey: 'k', retryBudgetMs: -1 }),
    { code: 'invalid_argument', message: /retryBudgetMs/ });
});

test('a Retry-After of 0 waits from backoff.minMs, not in a busy loop', async () => {
  const { waits, clock } = fakeClock({ jitter: false });
  const zero = reply(503, { error: { code: 'broker_unavailable', message: 'down' } }, { 'retry-after': '0' });
  await withServer([zero, zero, accepted], { clock }, async (server, emitter) => {
    assert.equal(await emitter.emit('user_1', 'x'), 1);
    assert.deepEqual(waits, [500, 1000]);
  });
});
