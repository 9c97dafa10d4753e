// Engine.IO handshake errors and the heartbeat, on the wire.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, seedClient, token, connected, sleep, metrics, eventually, SLOW } from './lib/hub.mjs';

let hub;
before(async () => { hub = await startHub({ args: ['--ping-interval', '300', '--ping-timeout', '200'] }); });
after(async () => { await hub.stop(); });

async function handshake(query) {
  const response = await fetch(`${hub.url}/socket.io/?${query}`);
  return { status: response.status, body: await response.json() };
}

test('other Engine.IO versions get 400 with the Engine.IO error JSON', async () => {
  assert.deepEqual(await handshake('EIO=3&transport=websocket'),
    { status: 400, body: { code: 5, message: 'Unsupported protocol version' } });
  assert.deepEqual(await handshake('transport=websocket'),
    { status: 400, body: { code: 5, message: 'Unsupported protocol version' } });
});

test('unknown transports get 400 "Transport unknown" and an info log line', async () => {
  assert.deepEqual(await handshake('EIO=4&transport=carrier-pigeon'),
    { status: 400, body: { code: 0, message: 'Transport unknown' } });
  await eventually(() => /info +engine\.io request refused .*reason="Transport unknown".*transport=carrier-pigeon/.test(hub.output()));
});

test('a websocket transport request that is not an upgrade gets 400 "Bad request"', async () => {
  assert.deepEqual(await handshake('EIO=4&transport=websocket'),
    { status: 400, body: { code: 3, message: 'Bad request' } });
});

test('the server pings and a live client stays connected across many intervals', async () => {
  const socket = await connected(seedClient(hub.url, token('hb')));
  let disconnected = false;
  socket.on('disconnect', () => { disconnected = true; });
  let pings = 0;
  socket.io.engine.on('ping', () => { pings += 1; });
  await sleep(2500 * SLOW);
  assert.equal(disconnected, false);
  assert.ok(pings >= 2, `only ${pings} pings`);
  socket.disconnect();
});

test('a client that stops answering pings is closed for ping_timeout', async () => {
  const socket = await connected(seedClient(hub.url, token('silent')));
  const before = (await metrics(hub))['nudge_disconnects_total{reason="ping_timeout"}'];
  // Swallow the pings: socket.io-client answers from the engine's onPacket.
  const realSend = socket.io.engine._sendPacket.bind(socket.io.engine);
  socket.io.engine._sendPacket = (type, ...rest) => (type === "pong" ? undefined : realSend(type, ...rest));
  socket.io.reconnection(false);
  await new Promise((resolve) => socket.on('disconnect', resolve));
  const after = (await metrics(hub))['nudge_disconnects_total{reason="ping_timeout"}'];
  assert.equal(after, before + 1);
});
