// Retries, keep-alive and chunking, against a scripted server that plays the hub.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scriptedServer, reply, accepted, sleep } from './helpers.mjs';
import { createEmitter } from '../dist/index.js';

const overloaded = reply(503, { error: { code: 'overloaded', message: 'fan-out is behind' } }, { 'retry-after': '1' });
const fast = { backoff: { minMs: 5, maxMs: 10 } };

async function withServer(script, options, body) {
  const server = await scriptedServer(script);
  const emitter = createEmitter({ url: server.url, apiKey: 'secret-key', ...fast, ...options });
  try {
    await body(server, emitter);
  } finally {
    emitter.close();
    await server.close();
  }
}

test('503 overloaded: waits for Retry-After, then the same request succeeds', () => {
  const waits = [];
  const clock = { sleep: async (ms) => { waits.push(ms); } };
  return withServer([overloaded, accepted], { clock }, async (server, emitter) => {
    assert.equal(await emitter.emitEvent(7, 'balance_updated', { a: 1 }), 1);
    assert.equal(server.requests.length, 2);
    // The same body, id included: the hub delivers a retried event once.
    assert.equal(server.requests[0].body, server.requests[1].body);
    const { id, ...body } = JSON.parse(server.requests[1].body);
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(body, { room: 'user_7', event: 'balance_updated', data: { a: 1 } });
    assert.equal(waits.length, 1);
    assert.ok(waits[0] >= 1000, `retried after ${waits[0]} ms, before the hub's Retry-After: 1`);
  });
});

test('503 on every attempt: overloaded, after retries + 1 attempts', () =>
  withServer([reply(503, { error: { code: 'overloaded', message: 'behind' } }, { 'retry-after': '0' })], { retries: 2 },
    async (server, emitter) => {
      await assert.rejects(emitter.emit('user_1', 'x'), {
        code: 'overloaded', status: 503, attempts: 3, message: /is overloaded \(503 overloaded\): behind \(gave up after 3 attempts\)$/,
      });
      assert.equal(server.requests.length, 3);
    }));

test('other 5xx and a dropped connection are retried', () =>
  withServer([reply(502, 'Bad Gateway'), (res) => res.socket.destroy(), accepted], {}, async (server, emitter) => {
    assert.equal(await emitter.emit('user_1', 'x'), 1);
    assert.equal(server.requests.length, 3);
  }));

test('400 is not retried', () =>
  withServer([reply(400, { error: { code: 'invalid_field', message: 'room: too long' } }), accepted], {},
    async (server, emitter) => {
      await assert.rejects(emitter.emit('user_1', 'x'), { code: 'bad_request', hubCode: 'invalid_field', attempts: 1 });
      assert.equal(server.requests.length, 1);
    }));

test('retries: 0 sends once', () =>
  withServer([overloaded, accepted], { retries: 0 }, async (server, emitter) => {
    await assert.rejects(emitter.emit('user_1', 'x'), { code: 'overloaded', attempts: 1 });
    assert.equal(server.requests.length, 1);
  }));

test('one kept-alive connection for many calls, with the API key and JSON headers', () =>
  withServer([accepted], {}, async (server, emitter) => {
    for (let i = 0; i < 5; i++) await emitter.emit('user_1', 'x', { i });
    assert.equal(server.requests.length, 5);
    assert.equal(server.connections, 1);
    const { headers } = server.requests[0];
    assert.equal(headers.authorization, 'Bearer secret-key');
    assert.equal(headers['content-type'], 'application/json');
  }));

test('a connection the server closed while idle is replaced, not reported', () =>
  withServer([accepted], {}, async (server, emitter) => {
    server.server.keepAliveTimeout = 50;
    assert.equal(await emitter.emit('user_1', 'x'), 1);
    await sleep(200);
    assert.equal(await emitter.emit('user_1', 'x'), 1);
    assert.equal(server.connections, 2);
  }));

test('emitMany chunks by maxBatch and maxBody, in order', () =>
  // Without ids, so the byte sizes the chunking is checked against are the events' own.
  withServer([accepted], { maxBatch: 3, maxBody: 200, idempotent: false }, async (server, emitter) => {
    const events = Array.from({ length: 8 }, (_, i) => ({ room: 'user_1', event: 'e', data: { i } }));
    events.push({ rooms: ['user_1', 'user_2'], event: 'big', data: { text: 'y'.repeat(300) } });
    assert.equal(await emitter.emitMany(events), 9);
    const bodies = server.requests.map((r) => JSON.parse(r.body).events);
    assert.deepEqual(bodies.map((b) => b.length), [3, 3, 2, 1], 'the oversized event goes alone');
    assert.deepEqual(bodies.flat(), events);
    for (const r of server.requests.slice(0, 3)) assert.ok(Buffer.byteLength(r.body) <= 200);
  }));

test('a kept-alive connection that dies before answering is retried at once on a new one, not counted', () =>
  withServer([accepted, (res) => res.socket.destroy(), accepted], { retries: 0 }, async (server, emitter) => {
    assert.equal(await emitter.emit('user_1', 'x'), 1);
    assert.equal(await emitter.emit('user_1', 'y'), 1, 'retries: 0, yet the reused connection was replaced');
    assert.equal(server.requests.length, 3);
    assert.equal(server.connections, 2);
  }));

test('a new connection that dies before answering counts as a failed attempt', () =>
  withServer([(res) => res.socket.destroy(), accepted], { retries: 0 }, async (server, emitter) => {
    await assert.rejects(emitter.emit('user_1', 'x'), {
      code: 'unreachable', attempts: 1, message: /the connection closed without an answer$/,
    });
    assert.equal(server.requests.length, 1);
  }));

test("emitEvent uses the hub's --user-room template and sends {} without metadata", () =>
  withServer([accepted], { userRoom: 'acct-{id}' }, async (server, emitter) => {
    assert.equal(emitter.roomFor(42), 'acct-42');
    await emitter.emitEvent(42, 'balance_updated');
    const { id, ...body } = JSON.parse(server.requests[0].body);
    assert.ok(id);
    assert.deepEqual(body, { room: 'acct-42', event: 'balance_updated', data: {} });
  }));
