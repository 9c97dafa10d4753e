// Client-requested rooms: nudge:subscribe {room, token?} with an ack, proven by a
// subscription token or by the backend's --subscribe-hook; real socket.io-clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import {
  startHub, seedClient, token, connected, emit, metrics, eventually, SLOW,
} from './lib/hub.mjs';

// A socket.io-client of user `sub` recording every event.
async function tab(hub, sub) {
  const socket = seedClient(hub.url, token(sub));
  const received = [];
  socket.onAny((event, ...args) => received.push({ event, args }));
  await connected(socket);
  return { socket, received };
}

// Publishes to `room`, then a marker to the user: once the marker arrived, so would have the
// event (per-socket order), so `received` is final for it.
async function publishThenMark(hub, t, room, user) {
  await emit(hub, { room, event: 'project_updated', data: { room } });
  const before = t.received.filter((r) => r.event === 'marker').length;
  await emit(hub, { room: `user_${user}`, event: 'marker' });
  await eventually(() => t.received.filter((r) => r.event === 'marker').length === before + 1);
  return t.received.filter((r) => r.event === 'project_updated').length;
}

const subscribe = (t, body) => t.socket.timeout(10000 * SLOW).emitWithAck('nudge:subscribe', body);

test('without proof the ack is an error and nothing for that room arrives; a token proves it', async () => {
  const hub = await startHub();
  const t = await tab(hub, '1');
  try {
    const refused = await subscribe(t, { room: 'project_42' });
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, 'forbidden');
    assert.equal(typeof refused.error.message, 'string');
    assert.equal(await publishThenMark(hub, t, 'project_42', '1'), 0);

    const expired = await subscribe(t, { room: 'project_42', token: token('1', { room: 'project_42', ttl: -120 }) });
    assert.deepEqual(expired.error, { code: 'bad_token', message: 'token_expired' });
    const otherUser = await subscribe(t, { room: 'project_42', token: token('2', { room: 'project_42' }) });
    assert.equal(otherUser.error.code, 'bad_token');
    assert.match(otherUser.error.message, /another user/);
    const otherRoom = await subscribe(t, { room: 'project_42', token: token('1', { room: 'project_43' }) });
    assert.match(otherRoom.error.message, /does not name this room/);
    const connectionToken = await subscribe(t, { room: 'project_42', token: token('1') });
    assert.equal(connectionToken.error.code, 'bad_token');
    assert.equal((await subscribe(t, { room: '' })).error.code, 'bad_request');
    assert.equal((await subscribe(t, { room: 'x'.repeat(300) })).error.code, 'bad_request');
    assert.equal((await subscribe(t, 'project_42')).error.code, 'bad_request');
    assert.equal(await publishThenMark(hub, t, 'project_42', '1'), 0);

    const granted = await subscribe(t, { room: 'project_42', token: token('1', { room: 'project_42', ttl: 60 }) });
    assert.deepEqual(granted, { ok: true });
    assert.equal(await publishThenMark(hub, t, 'project_42', '1'), 1);

    const left = await t.socket.timeout(5000 * SLOW).emitWithAck('nudge:unsubscribe', { room: 'project_42' });
    assert.deepEqual(left, { ok: true });
    assert.equal(await publishThenMark(hub, t, 'project_42', '1'), 1, 'nothing more after unsubscribe');

    const m = await metrics(hub);
    assert.equal(m['nudge_subscriptions_total{result="no_proof"}'], 1);
    assert.equal(m['nudge_subscriptions_total{result="granted_token"}'], 1);
    assert.equal(m['nudge_subscriptions_total{result="bad_token"}'], 4);
    assert.equal(m['nudge_subscriptions_total{result="unsubscribed"}'], 1);
    // Other client events still get the not_relayed ack.
    const other = await t.socket.timeout(5000).emitWithAck('something_else', 1);
    assert.equal(other.error, 'not_relayed');
  } finally {
    t.socket.close();
    await hub.stop();
  }
});

// A backend's subscribe endpoint: 200 for project_42, 403 for project_43, never answers for
// project_44 (until the test ends). Records every request.
async function backend() {
  const requests = [];
  const stalled = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const parsed = JSON.parse(body);
      requests.push({ path: req.url, type: req.headers['content-type'], body: parsed });
      if (parsed.room === 'project_42') res.writeHead(200).end('{}');
      else if (parsed.room === 'project_44') stalled.push(res);
      else res.writeHead(403).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}/nudge/subscribe`,
    requests,
    close: () => {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}

test('--subscribe-hook: 200 joins (and is cached), 403 and a timeout refuse, the hub keeps serving', async () => {
  const api = await backend();
  const hub = await startHub({
    args: ['--subscribe-hook', api.url, '--subscribe-hook-timeout', String(500 * SLOW), '--threads', '2'],
  });
  const [a, b] = [await tab(hub, '7'), await tab(hub, '7')];
  try {
    assert.deepEqual(await subscribe(a, { room: 'project_42' }), { ok: true });
    assert.deepEqual(api.requests, [{ path: '/nudge/subscribe', type: 'application/json', body: { user: '7', room: 'project_42' } }]);
    assert.equal(await publishThenMark(hub, a, 'project_42', '7'), 1);

    const forbidden = await subscribe(a, { room: 'project_43' });
    assert.equal(forbidden.ok, false);
    assert.equal(forbidden.error.code, 'forbidden');
    assert.equal(await publishThenMark(hub, a, 'project_43', '7'), 1, 'nothing from project_43');

    // A hook that never answers: the subscription is refused at the timeout, and meanwhile
    // the hub serves events (the same socket gets its marker before the ack).
    const slow = subscribe(a, { room: 'project_44' });
    await eventually(() => api.requests.some((r) => r.body.room === 'project_44'));
    assert.equal(await publishThenMark(hub, a, 'project_42', '7'), 2);
    const timedOut = await slow;
    assert.equal(timedOut.error.code, 'hook_timeout');
    assert.equal(await publishThenMark(hub, a, 'project_44', '7'), 2, 'nothing from project_44');

    // The 200 for (7, project_42) is cached: the second tab does not ask again (each worker
    // caches its own answers, so it may ask once more from the other worker).
    const asked = api.requests.length;
    assert.deepEqual(await subscribe(b, { room: 'project_42' }), { ok: true });
    assert.deepEqual(await subscribe(b, { room: 'project_42' }), { ok: true });
    assert.ok(api.requests.length <= asked + 1, `asked ${api.requests.length - asked} more times`);
    const m = await metrics(hub);
    assert.equal(m['nudge_subscriptions_total{result="hook_refused"}'], 1);
    assert.equal(m['nudge_subscriptions_total{result="hook_timeout"}'], 1);
    assert.ok(m['nudge_subscriptions_total{result="granted_cached"}'] >= 1);
  } finally {
    a.socket.close();
    b.socket.close();
    await hub.stop();
    api.close();
  }
});

test('a hook that is down refuses with hook_error; a token still works', async () => {
  const api = await backend();
  const url = api.url;
  api.close();  // nothing listens there now
  const hub = await startHub({ args: ['--subscribe-hook', url] });
  const t = await tab(hub, '9');
  try {
    const down = await subscribe(t, { room: 'project_42' });
    assert.equal(down.error.code, 'hook_error');
    assert.deepEqual(await subscribe(t, { room: 'project_42', token: token('9', { room: 'project_42', ttl: 60 }) }), { ok: true });
    assert.equal(await publishThenMark(hub, t, 'project_42', '9'), 1);
  } finally {
    t.socket.close();
    await hub.stop();
  }
});

test('--no-client-subscriptions: nudge:subscribe is an ordinary, unrelayed client event', async () => {
  const hub = await startHub({ args: ['--no-client-subscriptions'] });
  const t = await tab(hub, '3');
  try {
    const answer = await subscribe(t, { room: 'project_42', token: token('3', { room: 'project_42' }) });
    assert.equal(answer.error, 'not_relayed');
    assert.equal(await publishThenMark(hub, t, 'project_42', '3'), 0);
  } finally {
    t.socket.close();
    await hub.stop();
  }
});
