// Token lifetime: a session whose token passes exp + leeway is closed (token_expired) with a
// transport close, so clients reconnect and fetch a fresh token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { QueryClient } from '@tanstack/query-core';
import { createNudge } from '@nudge/react-query';
import { startHub, token, connected, emit, metrics, eventually, SLOW } from './lib/hub.mjs';

test('a token with exp = now + 2 s is closed by exp + leeway + 2 s (leeway 0), as a transport close', async () => {
  const hub = await startHub({ args: ['--jwt-leeway', '0'] });
  try {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const authToken = token('short', { ttl: exp - Math.floor(Date.now() / 1000) });
    const socket = io(hub.url, { auth: { token: authToken }, transports: ['websocket'], reconnection: false });
    await connected(socket);
    let reason;
    let at;
    socket.on('disconnect', (r) => { reason = r; at = Date.now(); });
    // Bounded wait for the outcome: the close must have happened by exp + leeway + 2 s.
    await eventually(() => reason !== undefined, { timeoutMs: Math.max(0, (exp + 0 + 2) * 1000 - Date.now()) * SLOW });
    assert.equal(reason, 'transport close', 'no Socket.IO DISCONNECT: the client must reconnect');
    assert.ok(at >= exp * 1000, 'closed before the token expired');
    const m = await metrics(hub);
    assert.equal(m['nudge_disconnects_total{reason="token_expired"}'], 1);
    assert.equal(m.nudge_sessions, 0);
  } finally {
    await hub.stop();
  }
});

test('a token within its lifetime keeps its session (default leeway 30 s)', async () => {
  const hub = await startHub();
  try {
    // Already 1 s past exp, but within the leeway: accepted, and not closed by the tick.
    const socket = io(hub.url, { auth: { token: token('lenient', { ttl: -1 }) }, transports: ['websocket'], reconnection: false });
    await connected(socket);
    const got = new Promise((resolve) => socket.once('still_here', resolve));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(socket.connected, true);
    await emit(hub, { room: 'user_lenient', event: 'still_here' });
    await got;
    socket.disconnect();
  } finally {
    await hub.stop();
  }
});

test('@nudge/react-query: a session survives a short token lifetime with no missed event', async () => {
  const hub = await startHub({ args: ['--jwt-leeway', '0'] });
  const queryClient = new QueryClient();
  let tokensIssued = 0;
  const nudge = createNudge({
    url: hub.url,
    io,
    queryClient,
    // The first token lives 2 s; the ones fetched on reconnect are long-lived.
    getToken: () => token('life', { ttl: ++tokensIssued === 1 ? 2 : 3600 }),
    events: { balance_updated: ['balance'] },
    socketOptions: { transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 500 },
    locks: null,
    channel: null,
    coalesceMs: 20,
  });
  const received = [];
  const off = nudge.on('balance_updated', (data) => received.push(data.n));
  const stop = nudge.start();
  nudge.setEnabled(true);
  try {
    await eventually(() => nudge.getStatus().state === 'connected');
    for (const n of [1, 2]) {
      assert.equal((await emit(hub, { room: 'user_life', event: 'balance_updated', data: { n } })).status, 202);
    }
    await eventually(() => received.length === 2);
    // The hub closes the expired session; the client reconnects with a fresh token.
    await eventually(() => tokensIssued >= 2 && nudge.getStatus().state === 'connected', { timeoutMs: 15000 * SLOW });
    await eventually(async () => (await metrics(hub))['nudge_sessions'] === 1);
    for (const n of [3, 4]) {
      assert.equal((await emit(hub, { room: 'user_life', event: 'balance_updated', data: { n } })).status, 202);
    }
    await eventually(() => received.length === 4);
    assert.deepEqual(received, [1, 2, 3, 4]);
    assert.equal((await metrics(hub))['nudge_disconnects_total{reason="token_expired"}'], 1);
  } finally {
    off();
    stop();
    queryClient.clear();
    await hub.stop();
  }
});
