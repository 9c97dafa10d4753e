// Shutdown, restart under load, and slow consumers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import WebSocket from 'ws';
import {
  startHub, seedClient, token, connected, emit, metrics, eventually, freePort, nextEvent, SLOW,
} from './lib/hub.mjs';

test('SIGTERM closes clients with a WebSocket close 1001 (they reconnect) and the hub exits by itself', async () => {
  const hub = await startHub();
  const sockets = await Promise.all(
    Array.from({ length: 20 }, (_, i) => connected(seedClient(hub.url, token(`t${i}`)))),
  );
  const reasons = sockets.map((s) => new Promise((resolve) => s.once('disconnect', resolve)));
  // The hub exits by itself (code 0, no signal): its own shutdown deadline ends it, nothing kills it.
  const { code, signal, ms } = await hub.stop('SIGTERM');
  assert.equal(code, 0);
  assert.equal(signal, null);
  console.log(`# exit took ${ms} ms after SIGTERM`);
  // "transport close" is the reason socket.io-client reconnects on; "io server disconnect"
  // would make it give up.
  assert.deepEqual(new Set(await Promise.all(reasons)), new Set(['transport close']));
  for (const s of sockets) s.disconnect();
});

test('5,000 clients connected, hub restarted under them, all come back into their rooms', async () => {
  const N = 5000;
  const port = await freePort();
  let hub = await startHub({ port });
  const sockets = [];
  try {
    for (let i = 0; i < N; i += 500) {
      const batch = Array.from({ length: 500 }, (_, j) => seedClient(hub.url, token(`r${i + j}`, { rooms: ['everyone'] })));
      sockets.push(...batch);
      await Promise.all(batch.map(connected));
    }
    assert.equal((await metrics(hub)).nudge_sessions, N);

    let reconnected = 0;
    for (const s of sockets) s.io.once('reconnect', () => { reconnected += 1; });
    await hub.stop();
    const restartedAt = Date.now();
    hub = await startHub({ port });
    await eventually(() => reconnected === N, { timeoutMs: 60000 * SLOW, intervalMs: 100 });
    const took = Date.now() - restartedAt;
    console.log(`# ${N} clients reconnected ${took} ms after the restart`);
    assert.equal((await metrics(hub)).nudge_sessions, N);

    // And they are in their rooms again: one broadcast reaches every one of them.
    let got = 0;
    const all = new Promise((resolve) => {
      for (const s of sockets) s.once('after_restart', () => { if (++got === N) resolve(); });
    });
    assert.equal((await emit(hub, { room: 'everyone', event: 'after_restart' })).status, 202);
    await all;
  } finally {
    for (const s of sockets) s.disconnect();
    await hub.stop();
  }
});

test('a client that stops reading is dropped as a slow consumer; others keep receiving', async () => {
  const hub = await startHub({ args: ['--max-send-queue', '65536'] });
  try {
    const fast = await connected(seedClient(hub.url, token('fast', { rooms: ['feed'] })));
    // A raw Engine.IO client that authenticates, then never reads again.
    const slow = new WebSocket(`${hub.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    await new Promise((resolve, reject) => {
      slow.on('error', reject);
      slow.on('message', (data) => {
        const text = data.toString();
        if (text.startsWith('0')) slow.send(`40${JSON.stringify({ token: token('slow', { rooms: ['feed'] }) })}`);
        if (text.startsWith('40')) resolve();
      });
    });
    slow._socket.pause();
    const slowClosed = new Promise((resolve) => slow._socket.once('close', resolve));

    const payload = 'x'.repeat(60000);
    const events = 300;  // 18 MB: far past the kernel's socket buffers and the 64 KiB queue
    let fastGot = 0;
    const fastDone = new Promise((resolve) => fast.on('bulk', () => { if (++fastGot === events) resolve(); }));
    for (let i = 0; i < events; i += 10) {
      const batch = Array.from({ length: 10 }, () => ({ room: 'feed', event: 'bulk', data: payload }));
      assert.equal((await emit(hub, { events: batch })).status, 202);
    }
    await fastDone;
    assert.equal(fastGot, events);
    await eventually(async () => (await metrics(hub)).nudge_slow_consumer_drops_total === 1);
    const m = await metrics(hub);
    assert.equal(m['nudge_disconnects_total{reason="slow_consumer"}'], 1);
    slow._socket.resume();
    await slowClosed;
    fast.disconnect();
  } finally {
    await hub.stop();
  }
});

test('the hub refuses to start without a key, with a clear message', async () => {
  await assert.rejects(startHub({ keys: false, args: ['--api-key', 'k'.repeat(16)] }), /no key to verify client tokens/);
  await assert.rejects(startHub({ keys: false, args: ['--jwt-secret', 's'] }), /--api-key: required/);
});

test('a client sending frames the protocol forbids is closed; the hub serves on', async () => {
  const hub = await startHub();
  try {
    const ok = await connected(seedClient(hub.url, token('bystander')));
    const bad = new WebSocket(`${hub.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    await new Promise((resolve) => bad.on('open', resolve));
    const closed = new Promise((resolve) => bad.on('close', (code) => resolve(code)));
    bad.send('0this is not a client packet');
    assert.equal(await closed, 1002);
    const got = nextEvent(ok, 'still');
    await emit(hub, { room: 'user_bystander', event: 'still' });
    await got;
    ok.disconnect();
  } finally {
    await hub.stop();
  }
});

test('--log-json writes one valid JSON object per line, even for messages with quotes', async () => {
  const hub = await startHub({ args: ['--log-json', '--log-level', 'debug'] });
  // The debug access log repeats the request path, here one with a quote and a backslash.
  const raw = connect(hub.port, '127.0.0.1');
  raw.write('GET /a"b\\c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  raw.on('data', () => {});
  await new Promise((resolve) => raw.on('close', resolve));
  await hub.stop();
  const lines = hub.output().split('\n').filter(Boolean);
  assert.ok(lines.length >= 3, hub.output());
  for (const line of lines) {
    const record = JSON.parse(line);
    assert.equal(typeof record.message, 'string');
    assert.ok(['trace', 'debug', 'info', 'warning', 'error', 'critical'].includes(record.level), line);
  }
  assert.ok(lines.some((l) => JSON.parse(l).message.includes('listening on http://')));
  assert.ok(lines.some((l) => JSON.parse(l).message.includes('/a"b\\c status=404')), hub.output());
});

// Liveness vs readiness: after SIGTERM with --drain-seconds, /readyz answers 503 so a load
// balancer stops sending new clients, while /healthz stays 200 and everything keeps serving.
test('draining: /readyz 503, /healthz 200, clients still served; a second SIGTERM stops at once', async () => {
  const hub = await startHub({ args: ['--drain-seconds', '600'] });
  const status = async (path) => (await fetch(`${hub.url}${path}`)).status;
  try {
    assert.equal(await status('/readyz'), 200);
    assert.equal(await status('/healthz'), 200);
    const socket = await connected(seedClient(hub.url, token('drainer')));
    const disconnected = new Promise((resolve) => socket.once('disconnect', resolve));

    hub.child.kill('SIGTERM');
    await eventually(async () => (await status('/readyz')) === 503);
    const readyz = await fetch(`${hub.url}/readyz`);
    assert.deepEqual(await readyz.json(), { status: 'draining' });
    assert.equal(await status('/healthz'), 200);
    assert.equal(hub.child.exitCode, null, 'still running while draining');

    // Connected clients keep receiving; a client that still arrives is served too.
    const got = nextEvent(socket, 'during_drain');
    assert.equal((await emit(hub, { room: 'user_drainer', event: 'during_drain' })).status, 202);
    await got;
    const late = await connected(seedClient(hub.url, token('late')));
    late.disconnect();

    hub.child.kill('SIGTERM');
    const { code } = await hub.exited;
    assert.equal(code, 0);
    assert.equal(await disconnected, 'transport close');
    socket.disconnect();
  } finally {
    await hub.stop();
  }
});

test('draining ends by itself after --drain-seconds and the hub exits 0', async () => {
  const hub = await startHub({ args: ['--drain-seconds', '1'] });
  const socket = await connected(seedClient(hub.url, token('patient')));
  const disconnected = new Promise((resolve) => socket.once('disconnect', resolve));
  hub.child.kill('SIGTERM');
  const { code } = await hub.exited;
  assert.equal(code, 0);
  assert.equal(await disconnected, 'transport close');
  socket.disconnect();
});
