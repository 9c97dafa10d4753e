// Each failure is a NudgeError whose code is for programs and whose message names the cause.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, emitterFor, freePort, scriptedServer, reply } from './helpers.mjs';
import { createEmitter, NudgeError } from '../dist/index.js';

let hub;
before(async () => {
  hub = await startHub({ args: ['--max-body', '256'] });
});
after(async () => {
  await hub?.stop();
});

test('hub down: unreachable, retried, and the message names the URL', async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const down = createEmitter({ url, apiKey: 'k', retries: 2, backoff: { minMs: 5, maxMs: 10 } });
  await assert.rejects(down.emitEvent(1, 'balance_updated'), (error) => {
    assert.ok(error instanceof NudgeError);
    assert.equal(error.code, 'unreachable');
    assert.equal(error.attempts, 3);
    assert.equal(error.status, undefined);
    assert.equal(error.cause.code, 'ECONNREFUSED');
    assert.equal(error.message,
      `cannot reach the hub at ${url}: connection refused (is nudged running there?) (gave up after 3 attempts)`);
    return true;
  });
});

test('wrong API key: unauthorized, not retried', async () => {
  const wrong = emitterFor(hub, { apiKey: 'not-the-key' });
  try {
    await assert.rejects(wrong.emitEvent(1, 'balance_updated'), (error) => {
      assert.equal(error.code, 'unauthorized');
      assert.equal(error.status, 401);
      assert.equal(error.attempts, 1);
      assert.match(error.message, new RegExp(`^the hub at ${hub.url} refused the API key \\(401.*wrong or missing API key`));
      return true;
    });
  } finally {
    wrong.close();
  }
});

test("a reserved event name: bad_request carrying the hub's 400 message, not retried", async () => {
  const emitter = emitterFor(hub);
  try {
    await assert.rejects(emitter.emit('user_1', 'connect'), (error) => {
      assert.equal(error.code, 'bad_request');
      assert.equal(error.status, 400);
      assert.equal(error.hubCode, 'reserved_event');
      assert.equal(error.hubMessage, 'event: "connect" is reserved by Socket.IO');
      assert.equal(error.attempts, 1);
      assert.equal(error.retryable, false);
      assert.match(error.message, /rejected the request \(400 reserved_event\): event: "connect" is reserved by Socket\.IO$/);
      return true;
    });
  } finally {
    emitter.close();
  }
});

test('a body over the hub --max-body: too_large', async () => {
  const emitter = emitterFor(hub);
  try {
    await assert.rejects(emitter.emit('user_1', 'big', { text: 'x'.repeat(400) }), (error) => {
      assert.equal(error.code, 'too_large');
      assert.equal(error.status, 413);
      assert.match(error.message, /--max-body/);
      return true;
    });
  } finally {
    emitter.close();
  }
});

test('no answer within timeoutMs: timeout, retried', async () => {
  const silent = await scriptedServer([() => {}]);
  const emitter = createEmitter({ url: silent.url, apiKey: 'k', timeoutMs: 100, retries: 1, backoff: { minMs: 1, maxMs: 1 } });
  try {
    await assert.rejects(emitter.emitEvent(1, 'x'), (error) => {
      assert.equal(error.code, 'timeout');
      assert.equal(error.attempts, 2);
      assert.match(error.message, /did not answer within 100 ms \(gave up after 2 attempts\)$/);
      return true;
    });
    assert.equal(silent.requests.length, 2);
  } finally {
    emitter.close();
    await silent.close();
  }
});

test('not a hub: a 404 hints at the URL, a 2xx without {accepted} is unexpected_response', async () => {
  const other = await scriptedServer([reply(404, 'Not Found'), reply(200, '<html>hello</html>')]);
  const emitter = createEmitter({ url: other.url, apiKey: 'k' });
  try {
    await assert.rejects(emitter.emitEvent(1, 'x'), (error) => {
      assert.equal(error.code, 'bad_request');
      assert.equal(error.hubCode, undefined);
      assert.equal(error.hubMessage, 'Not Found');
      assert.match(error.message, /\(404\): Not Found; is http:\/\/127\.0\.0\.1:\d+ the hub's address\?$/);
      return true;
    });
    await assert.rejects(emitter.emitEvent(1, 'x'), { code: 'unexpected_response', status: 200 });
  } finally {
    emitter.close();
    await other.close();
  }
});

test('bad options fail at creation, naming the option', () => {
  assert.throws(() => createEmitter({ url: 'http://127.0.0.1:1', apiKey: '' }), { code: 'invalid_argument', message: /no API key/ });
  assert.throws(() => createEmitter({ url: 'localhost:8080', apiKey: 'k' }), { code: 'invalid_argument', message: /hub URL/ });
  assert.throws(() => createEmitter({ url: 'http://h/?a=1', apiKey: 'k' }), { code: 'invalid_argument' });
  assert.throws(() => createEmitter({ apiKey: 'k', timeoutMs: 0 }), { message: /timeoutMs/ });
  assert.throws(() => createEmitter({ apiKey: 'k', userRoom: 'user' }), { message: /\{id\}/ });
});

test('bad arguments reject before anything is sent', async () => {
  const counting = await scriptedServer([reply(202, { accepted: 1 })]);
  const emitter = createEmitter({ url: counting.url, apiKey: 'k' });
  try {
    await assert.rejects(emitter.emit([], 'x'), { code: 'invalid_argument', message: /rooms must not be empty/ });
    await assert.rejects(emitter.emit('user_1', 'x', undefined, { except: [''] }), { message: /except must hold/ });
    await assert.rejects(emitter.emitEvent('', 'x'), { message: /userId must not be empty/ });
    await assert.rejects(emitter.emitMany([{ room: 'a', event: 'x' }, { room: 'a', rooms: ['b'], event: 'x' }]),
      { message: /^events\[1\]: give exactly one of room or rooms$/ });
    await assert.rejects(emitter.emitMany({ room: 'a', event: 'x' }), { message: /array \(or iterable\) of events/ });
    await assert.rejects(emitter.emitMany([{ room: 'a', event: 'x', type: 'push.event' }]),
      { message: /events\[0\]: unknown key\(s\) type/ });
    assert.equal(counting.requests.length, 0);
  } finally {
    emitter.close();
    await counting.close();
  }
});

test('a bad version or spread rejects naming the field, before anything is sent', async () => {
  const counting = await scriptedServer([reply(202, { accepted: 1 })]);
  const emitter = createEmitter({ url: counting.url, apiKey: 'k' });
  try {
    for (const version of [-1, 1.5, 2 ** 53, true, {}, '', '0/', 'G/1', '123456789/1', '0x10', ' 1',
      '18446744073709551616', '123456789012345678901', -1n, 1n << 64n]) {
      await assert.rejects(emitter.emit('user_1', 'x', undefined, { version }),
        { code: 'invalid_argument', message: /^version must be / }, String(version));
    }
    for (const spread of [-1, 60001, 1.5, '3000', null, Number.NaN]) {
      await assert.rejects(emitter.emitEvent('1', 'x', undefined, { spread }),
        { code: 'invalid_argument', message: /^spread must be an integer number of ms from 0 to 60000/ }, String(spread));
    }
    await assert.rejects(emitter.emitMany([{ room: 'a', event: 'x' }, { room: 'a', event: 'x', version: 'x/1' }]),
      { message: /^events\[1\]\.version must be a Postgres LSN/ });
    await assert.rejects(emitter.emitMany([{ room: 'a', event: 'x', spread: 60001 }]),
      { message: /^events\[0\]\.spread must be / });
    assert.equal(counting.requests.length, 0);
  } finally {
    emitter.close();
    await counting.close();
  }
});

test('version and spread are sent as the hub takes them: a bigint as its digits', async () => {
  const counting = await scriptedServer([reply(202, { accepted: 1 })]);
  const emitter = createEmitter({ url: counting.url, apiKey: 'k', idempotent: false });
  try {
    await emitter.emit('user_1', 'x', undefined, { version: '0/16b3748', spread: 0 });
    await emitter.emitEvent(7, 'x', { a: 1 }, { version: 2 ** 53 - 1, spread: 60000 });
    await emitter.to('user_1').emit('x');
    await emitter.emitMany([{ room: 'a', event: 'x', version: (1n << 64n) - 1n }, { room: 'b', event: 'y' }]);
    assert.deepEqual(counting.requests.map((r) => JSON.parse(r.body)), [
      { room: 'user_1', event: 'x', version: '0/16b3748', spread: 0 },
      { room: 'user_7', event: 'x', data: { a: 1 }, version: 9007199254740991, spread: 60000 },
      { room: 'user_1', event: 'x' },
      { events: [{ room: 'a', event: 'x', version: '18446744073709551615' }, { room: 'b', event: 'y' }] },
    ]);
  } finally {
    emitter.close();
    await counting.close();
  }
});
