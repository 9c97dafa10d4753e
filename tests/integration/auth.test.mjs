// Refused connections: every bad token gets CONNECT_ERROR "unauthorized" with a reason.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { io } from 'socket.io-client';
import {
  startHub, seedClient, token, connectError, connected, mintToken, metrics, emit, nextEvent, SECRET,
} from './lib/hub.mjs';

let hub;
const sockets = [];
before(async () => { hub = await startHub(); });
after(async () => {
  for (const s of sockets) s.disconnect();
  await hub.stop();
});

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

async function refusedWith(authToken, options = {}) {
  const socket = io(hub.url, { transports: ['websocket'], reconnection: false, ...options, auth: authToken === undefined ? {} : { token: authToken } });
  sockets.push(socket);
  const error = await connectError(socket);
  assert.equal(error.message, 'unauthorized');
  return error.data.reason;
}

test('a token signed with another secret is refused: bad_signature', async () => {
  assert.equal(await refusedWith(mintToken({ secret: 'not-the-secret', sub: '1' })), 'bad_signature');
});

test('an expired token is refused: token_expired (beyond the 30 s leeway)', async () => {
  const expired = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: '1', exp: now() - 120 })}`;
  const signed = `${expired}.${createHmac('sha256', SECRET).update(expired).digest('base64url')}`;
  assert.equal(await refusedWith(signed), 'token_expired');
});

test('alg none is refused: algorithm_not_allowed', async () => {
  const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: '1', exp: now() + 60 })}.`;
  assert.equal(await refusedWith(unsigned), 'algorithm_not_allowed');
});

test('a missing token is refused: missing_token', async () => {
  assert.equal(await refusedWith(undefined), 'missing_token');
});

test('garbage is refused: malformed_token', async () => {
  assert.equal(await refusedWith('not-a-jwt'), 'malformed_token');
});

test('the seed client sees connect_error, and a refused user gets no events', async () => {
  const socket = seedClient(hub.url, mintToken({ secret: 'wrong', sub: '77' }));
  sockets.push(socket);
  const error = await connectError(socket);
  assert.equal(error.message, 'unauthorized');
  assert.equal(error.data.reason, 'bad_signature');
  const got = [];
  socket.onAny((e) => got.push(e));
  const ok = await connected(seedClient(hub.url, token('78')));
  sockets.push(ok);
  const received = nextEvent(ok, 'ping_me');
  await emit(hub, { rooms: ['user_77', 'user_78'], event: 'ping_me' });
  await received;
  assert.deepEqual(got, []);
});

test('refusals are counted by reason', async () => {
  const m = await metrics(hub);
  assert.ok(m['nudge_auth_failures_total{reason="bad_signature"}'] >= 1);
  assert.ok(m['nudge_auth_failures_total{reason="missing_token"}'] >= 1);
  assert.ok(m['nudge_auth_failures_total{reason="algorithm_not_allowed"}'] >= 1);
});

test('other namespaces get CONNECT_ERROR "Invalid namespace"', async () => {
  const socket = io(`${hub.url}/admin`, { auth: { token: token('1') }, transports: ['websocket'], reconnection: false });
  sockets.push(socket);
  const error = await connectError(socket);
  assert.equal(error.message, 'Invalid namespace');
});
