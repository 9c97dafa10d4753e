// Socket.IO v5 strictness on the wire: packets the spec (and the official server) reject
// close the connection; a client may DISCONNECT and CONNECT again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, token, metrics, sleep, SLOW } from './lib/hub.mjs';
import { openRaw, closedWithin } from './lib/raw_socket.mjs';

let hub;
before(async () => {
  // Short heartbeat settings make the hub's sweep run every 100 ms; the raw client pongs.
  hub = await startHub({ args: ['--ping-interval', '400', '--ping-timeout', '400', '--connect-timeout', '1000'] });
});
after(async () => { await hub.stop(); });

const protocolErrors = async () => (await metrics(hub))['nudge_disconnects_total{reason="protocol_error"}'];

async function connectedRaw(sub) {
  const raw = await openRaw(hub);
  raw.ws.send(`40${JSON.stringify({ token: token(sub) })}`);
  await raw.next('40{"sid"');
  return raw;
}

for (const packet of ['42{}', '421{}', '422[]', '42', '42"x"', '42[{}]', '42["disconnect"]', '42abc["x"]']) {
  test(`a malformed EVENT ${packet} closes the connection (1002) and is not acked`, async () => {
    const raw = await connectedRaw('m');
    const before = await protocolErrors();
    raw.ws.send(packet);
    assert.equal(await closedWithin(raw), 1002);
    assert.deepEqual(raw.messages.filter((m) => m.startsWith('43')), []);
    assert.equal(await protocolErrors(), before + 1);
  });
}

for (const packet of ['43{}', '43["x"]', '437', '43x["x"]']) {
  test(`a malformed ACK ${packet} closes the connection`, async () => {
    const raw = await connectedRaw('a');
    raw.ws.send(packet);
    assert.equal(await closedWithin(raw), 1002);
  });
}

test('a well-formed EVENT is still acked and the connection stays open', async () => {
  const raw = await connectedRaw('ok');
  raw.ws.send('425["hello",{"x":1}]');
  assert.match(await raw.next('435'), /not_relayed/);
  assert.ok(raw.isOpen());
  raw.ws.close();
});

test('a first packet that is not a CONNECT closes at once, not at the connect timeout', async () => {
  const raw = await openRaw(hub);
  raw.ws.send('42["x"]');
  // 1002 (protocol error), not the 1000 a connect_timeout close would carry.
  assert.equal(await closedWithin(raw), 1002);
});

test('a duplicate CONNECT closes the connection', async () => {
  const raw = await connectedRaw('dup');
  raw.ws.send(`40${JSON.stringify({ token: token('dup') })}`);
  assert.equal(await closedWithin(raw), 1002);
});

test('a DISCONNECT after the connect deadline does not close the session; it may CONNECT again', async () => {
  const raw = await connectedRaw('again');
  await sleep(1300 * SLOW);  // past the 1 s connect deadline
  raw.ws.send('41');
  // The hub sweeps every 100 ms: a stale deadline would close the connection now.
  await sleep(500);
  assert.ok(raw.isOpen(), 'closed after the DISCONNECT');
  raw.ws.send(`40${JSON.stringify({ token: token('again') })}`);
  await raw.next('40{"sid"');
  raw.ws.close();
});

test('a client that DISCONNECTs and never CONNECTs again is closed for connect_timeout', async () => {
  const raw = await connectedRaw('gone');
  const before = (await metrics(hub))['nudge_disconnects_total{reason="connect_timeout"}'];
  raw.ws.send('41');
  await closedWithin(raw, 3000 * SLOW);
  assert.equal((await metrics(hub))['nudge_disconnects_total{reason="connect_timeout"}'], before + 1);
});
