// Real clients with their default options, which start on HTTP long-polling: socket.io-client
// 4.8 (upgrades to WebSocket), 4.8 held on polling, 4.0 (an npm alias), python-socketio
// (Debian's python3-socketio), and @nudge/react-query with socket.io's default transports.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { io as io40 } from 'socket.io-client-4.0';
import { QueryClient, QueryObserver } from '@tanstack/query-core';
import { createNudge } from '@nudge/react-query';
import { startHub, token, emit, connected, nextEvent, eventually, freePort, metrics, SLOW } from './lib/hub.mjs';

const PYTHON_CLIENT = fileURLToPath(new URL('./lib/python_client.py', import.meta.url));

let hub;
before(async () => { hub = await startHub(); });
after(async () => { await hub.stop(); });

test('socket.io-client 4.8 with default options connects on polling, upgrades to WebSocket and receives events', async () => {
  const socket = io(hub.url, { auth: { token: token('default-48') }, reconnection: false });
  try {
    await connected(socket);
    await eventually(() => socket.io.engine.transport.name === 'websocket');
    const received = nextEvent(socket, 'balance_updated');
    assert.equal((await emit(hub, { room: 'user_default-48', event: 'balance_updated', data: { v: 1 } })).status, 202);
    assert.deepEqual(await received, [{ v: 1 }]);
    // Before the upgrade completed, events went over polling; either way one session counts.
    assert.equal((await metrics(hub)).nudge_sessions, 1);
  } finally {
    socket.close();
  }
});

test("socket.io-client with transports: ['polling'] never upgrades: events, acks, reconnect", async () => {
  const port = await freePort();
  let own = await startHub({ port });
  const socket = io(own.url, {
    auth: { token: token('poll-only') },
    transports: ['polling'],
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
  });
  let upgrades = 0;
  try {
    await connected(socket);
    socket.io.engine.on('upgrade', () => { upgrades += 1; });
    const received = nextEvent(socket, 'transaction_happened');
    await emit(own, { room: 'user_poll-only', event: 'transaction_happened', data: { id: 7 } });
    assert.deepEqual(await received, [{ id: 7 }]);
    // An acknowledged client event gets the hub's not_relayed answer over polling.
    const ack = await socket.timeout(3000 * SLOW).emitWithAck('hello', 1);
    assert.equal(ack.error, 'not_relayed');
    // The hub restarts: the client reconnects (still polling) and gets the next event. It must
    // have seen the old session end first: `connected` is still true until it has, and an event
    // published then would go to a hub where the client is not yet back.
    const disconnected = new Promise((resolve) => socket.once('disconnect', resolve));
    await own.stop();
    await disconnected;
    own = await startHub({ port });
    await eventually(() => socket.connected, { timeoutMs: 10000 * SLOW });
    const again = nextEvent(socket, 'balance_updated');
    await emit(own, { room: 'user_poll-only', event: 'balance_updated' });
    await again;
    assert.equal(socket.io.engine.transport.name, 'polling');
    assert.equal(upgrades, 0);
  } finally {
    socket.close();
    await own.stop();
  }
});

test('socket.io-client 4.0 with default options receives events', async () => {
  const socket = io40(hub.url, { auth: { token: token('default-40') }, reconnection: false });
  try {
    await connected(socket);
    const received = nextEvent(socket, 'balance_updated');
    await emit(hub, { room: 'user_default-40', event: 'balance_updated', data: 'ok' });
    assert.deepEqual(await received, ['ok']);
    await eventually(() => socket.io.engine.transport.name === 'websocket');
  } finally {
    socket.close();
  }
});

test('python-socketio with default transports receives events', async () => {
  const child = spawn('/usr/bin/python3', [PYTHON_CLIENT, hub.url, token('py-default'), 'balance_updated'], {
    env: { ...process.env, NUDGE_PY_TRANSPORTS: 'default' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const records = [];
  createInterface({ input: child.stdout }).on('line', (line) => records.push(JSON.parse(line)));
  try {
    await eventually(() => records.some((r) => r.type === 'transport'), { timeoutMs: 10000 * SLOW });
    assert.ok(records.some((r) => r.type === 'connect'));
    // python-engineio opens on polling and upgrades inside connect() when the open packet
    // offers "websocket": being on WebSocket here means both steps worked.
    assert.deepEqual(records.find((r) => r.type === 'transport'), { type: 'transport', name: 'websocket' });
    await eventually(async () => {
      await emit(hub, { room: 'user_py-default', event: 'balance_updated', data: { v: 2 } });
      return records.some((r) => r.type === 'event' && r.data?.v === 2);
    }, { timeoutMs: 10000 * SLOW, intervalMs: 500 });
  } finally {
    child.kill();
  }
});

test("@nudge/react-query with socket.io's default transports (polling first) invalidates queries", async () => {
  const queryClient = new QueryClient();
  let fetches = 0;
  const observer = new QueryObserver(queryClient, {
    queryKey: ['balance'],
    queryFn: async () => { fetches += 1; return fetches; },
    staleTime: Infinity,
  });
  const unsubscribe = observer.subscribe(() => {});
  const nudge = createNudge({
    url: hub.url,
    io,
    queryClient,
    getToken: () => token('rq-polling'),
    events: { balance_updated: ['balance'] },
    socketOptions: { transports: ['polling', 'websocket'] },
    locks: null,
    channel: null,
    coalesceMs: 20,
  });
  const stop = nudge.start();
  nudge.setEnabled(true);
  try {
    await eventually(() => nudge.getStatus().state === 'connected' && fetches >= 1);
    const before = fetches;
    await emit(hub, { room: 'user_rq-polling', event: 'balance_updated' });
    await eventually(() => fetches > before);
  } finally {
    stop();
    unsubscribe();
    queryClient.clear();
  }
});
