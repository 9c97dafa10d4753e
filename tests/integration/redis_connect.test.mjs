// With a Redis broker a session's CONNECT is answered once Redis has confirmed its rooms'
// subscriptions, and live events are held until then. A polling session may upgrade to
// WebSocket in that window (socket.io-client's default transports probe at once): the answer
// and the held events must then arrive on the WebSocket. Redis is paused (SIGSTOP) to hold the
// window open deterministically.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startHub, token, emit, eventually } from './lib/hub.mjs';
import { startRedis } from './lib/redis.mjs';

let redis;
let hub;
let other;
before(async () => {
  redis = await startRedis();
  // Long enough that the paused Redis is not declared down while the test runs.
  const args = ['--broker', redis.url, '--broker-timeout', '20000'];
  hub = await startHub({ args });
  other = await startHub({ args });
  await eventually(async () => (await (await fetch(`${hub.url}/healthz`)).json()).broker.connected);
  await eventually(async () => (await (await fetch(`${other.url}/healthz`)).json()).broker.connected);
});
after(async () => {
  redis.resume();
  await hub?.stop();
  await other?.stop();
  await redis?.stop();
});

const path = (sid) => `${hub.url}/socket.io/?EIO=4&transport=polling${sid ? `&sid=${sid}` : ''}`;

function wsFor(sid) {
  const socket = new WebSocket(`${hub.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
  const messages = [];
  const waiters = [];
  socket.on('message', (data) => {
    const text = data.toString();
    if (text === '2') { socket.send('3'); return; }
    if (waiters.length) waiters.shift()(text); else messages.push(text);
  });
  socket.next = () => (messages.length ? Promise.resolve(messages.shift())
    : new Promise((resolve) => waiters.push(resolve)));
  return socket;
}

test('a polling session upgraded before Redis confirmed its rooms gets its CONNECT answer and the held events on the WebSocket', async () => {
  const open = await (await fetch(path())).text();
  const { sid } = JSON.parse(open.slice(1));
  redis.pause();
  try {
    const posted = await fetch(path(sid), { method: 'POST', body: `40${JSON.stringify({ token: token('upgrading') })}` });
    assert.equal(await posted.text(), 'ok');
    const held = fetch(path(sid)).then((r) => r.text());
    const socket = wsFor(sid);
    await once(socket, 'open');
    socket.send('2probe');
    assert.equal(await socket.next(), '3probe');
    assert.equal(await held, '6');  // the held GET ends with a noop: no CONNECT answer on polling
    socket.send('5');
    redis.resume();
    const answer = await socket.next();
    assert.match(answer, /^40\{"sid":"[^"]+"\}$/);
    // Published through the other hub, after the answer: arrives on the WebSocket, once.
    const r = await emit(other, { room: 'user_upgrading', event: 'after_connect' });
    assert.equal(r.status, 202);
    assert.equal(await socket.next(), '42["after_connect"]');
    socket.close();
  } finally {
    redis.resume();
  }
});

test('events published while a WebSocket session waits for its rooms reach it after its CONNECT answer', async () => {
  // user_waiting's room is new to the hub: its CONNECT waits for the SUBSCRIBE confirmation,
  // which a paused Redis cannot give.
  const socket = new WebSocket(`${hub.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const texts = [];
  socket.on('message', (data) => {
    const text = data.toString();
    if (text === '2') socket.send('3'); else texts.push(text);
  });
  await eventually(() => texts.length > 0);  // Engine.IO open
  redis.pause();
  try {
    socket.send(`40${JSON.stringify({ token: token('waiting') })}`);
    // Nothing can be confirmed while Redis is stopped: no answer yet.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(texts.length, 1, JSON.stringify(texts));
  } finally {
    redis.resume();
  }
  await eventually(() => texts.length >= 2);
  assert.match(texts[1], /^40\{"sid":"[^"]+"\}$/);
  const r = await emit(other, { room: 'user_waiting', event: 'live' });
  assert.equal(r.status, 202);
  await eventually(() => texts.includes('42["live"]'));
  socket.close();
});
