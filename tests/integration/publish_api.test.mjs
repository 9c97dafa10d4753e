// The publish API's answers to bad input, and the hub serving on through them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startHub, seedClient, token, connected, emit, nextEvent, API_KEY } from './lib/hub.mjs';

let hub;
let watcher;
before(async () => {
  hub = await startHub({ args: ['--max-body', '4096'] });
  watcher = await connected(seedClient(hub.url, token('watch')));
});
after(async () => {
  watcher.disconnect();
  await hub.stop();
});

function assertError(result, status, code) {
  assert.equal(result.status, status, result.text);
  assert.equal(result.json?.error?.code, code, result.text);
  assert.equal(typeof result.json.error.message, 'string');
}

test('malformed bodies get 400 with a JSON error naming the field', async () => {
  assertError(await emit(hub, '{"room":', { raw: true }), 400, 'invalid_json');
  // Invalid JSON says where: line and column of the first byte the parser could not take.
  const typo = await emit(hub, '{"room": "user_1",\n "event": balance_updated}', { raw: true });
  assertError(typo, 400, 'invalid_json');
  assert.match(typo.json.error.message, /^body: not valid JSON at line 2, column 11 \(/);
  assertError(await emit(hub, '[]', { raw: true }), 400, 'invalid_body');
  assertError(await emit(hub, { room: 'user_1' }), 400, 'missing_field');
  assertError(await emit(hub, { room: 'user_1', event: '' }), 400, 'invalid_field');
  assertError(await emit(hub, { room: 'user_1', event: 'connect' }), 400, 'reserved_event');
  assertError(await emit(hub, { room: 'user_1', event: 'disconnect' }), 400, 'reserved_event');
  assertError(await emit(hub, { rooms: ['a', 7], event: 'e' }), 400, 'invalid_field');
  assertError(await emit(hub, { room: 'a', event: 'e', bogus: 1 }), 400, 'unknown_field');
  const named = await emit(hub, { events: [{ room: 'a', event: 'ok' }, { rooms: [null], event: 'e' }] });
  assert.equal(named.json.error.message, 'events[1].rooms[0]: must be a non-empty string');
});

test('a wrong or missing API key gets 401', async () => {
  assertError(await emit(hub, { room: 'a', event: 'e' }, { apiKey: 'nope' }), 401, 'unauthorized');
  const response = await fetch(`${hub.url}/api/v1/emit`, { method: 'POST', body: '{}' });
  assert.equal(response.status, 401);
});

test('a body past --max-body gets 413', async () => {
  const big = { room: 'a', event: 'e', data: 'x'.repeat(10000) };
  assertError(await emit(hub, big), 413, 'payload_too_large');
});

test('wrong methods get 405 with Allow, unknown paths 404', async () => {
  const get = await fetch(`${hub.url}/api/v1/emit`);
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  assert.equal((await get.json()).error.code, 'method_not_allowed');
  const missing = await fetch(`${hub.url}/api/v2/emit`, { method: 'POST' });
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, 'not_found');
});

test('healthz answers 200 and metrics are Prometheus text', async () => {
  const health = await fetch(`${hub.url}/healthz`);
  assert.equal(health.status, 200);
  const m = await fetch(`${hub.url}/metrics`);
  assert.match(m.headers.get('content-type'), /^text\/plain/);
  assert.match(await m.text(), /# TYPE nudge_deliveries_total counter/);
});

test('keep-alive: many publishes over one connection', async () => {
  // Raw HTTP/1.1 pipelining of three requests on one socket: three 202 answers come back, in
  // order, on the same connection, and each request's event is delivered.
  const requestFor = (i) => {
    const body = JSON.stringify({ room: 'user_watch', event: 'pipelined', data: { i } });
    return `POST /api/v1/emit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  };
  const delivered = [];
  const all = new Promise((resolve) => {
    const onEvent = (data) => {
      delivered.push(data.i);
      if (delivered.length === 3) { watcher.off('pipelined', onEvent); resolve(); }
    };
    watcher.on('pipelined', onEvent);
  });
  const socket = connect(hub.port, '127.0.0.1');
  let data = '';
  socket.on('data', (chunk) => { data += chunk; });
  socket.write(requestFor(1) + requestFor(2) + requestFor(3));
  // Each answer's status line follows the previous answer's body directly.
  const statuses = () => [...data.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
  await new Promise((resolve) => {
    const check = () => (statuses().length >= 3 ? resolve() : setTimeout(check, 10));
    check();
  });
  assert.deepEqual(statuses(), ['202', '202', '202']);
  assert.equal(socket.destroyed, false, 'the connection stays open after the answers');
  socket.destroy();
  await all;
  assert.deepEqual(delivered, [1, 2, 3]);
});

test('garbage on the socket does not disturb other clients', async () => {
  const socket = connect(hub.port, '127.0.0.1');
  socket.write('\x00\x01\x02 NOT HTTP\r\n\r\n');
  socket.on('error', () => {});
  let answer = '';
  socket.on('data', (chunk) => { answer += chunk; });
  await new Promise((resolve) => socket.on('close', resolve));
  assert.match(answer, /^HTTP\/1\.1 400 [^]*"code":"bad_request"/);
  const got = nextEvent(watcher, 'still_here');
  assert.equal((await emit(hub, { room: 'user_watch', event: 'still_here', data: 1 })).status, 202);
  assert.deepEqual(await got, [1]);
});
