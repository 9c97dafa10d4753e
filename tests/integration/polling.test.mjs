// Engine.IO v4 HTTP long-polling on the wire: handshake fields, payload encodings, error
// codes, heartbeat, close semantics, the upgrade to WebSocket, the send budget, anonymous
// rooms, CORS and origins, and a polling request that reaches the wrong hub.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startHub, token, emit, metrics, eventually, sleep, SLOW } from './lib/hub.mjs';

let hub;
before(async () => {
  hub = await startHub();
});
after(async () => { await hub.stop(); });

const path = (h, sid) => `${h.url}/socket.io/?EIO=4&transport=polling${sid ? `&sid=${sid}` : ''}`;

async function openSession(h = hub, headers = {}) {
  const response = await fetch(path(h), { headers });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  assert.equal(text[0], '0');
  return { sid: JSON.parse(text.slice(1)).sid, response, open: JSON.parse(text.slice(1)) };
}

async function poll(sid, h = hub, init = {}) {
  const response = await fetch(path(h, sid), init);
  return { status: response.status, text: await response.text(), headers: response.headers };
}

async function post(sid, body, h = hub, headers = {}) {
  const response = await fetch(path(h, sid), { method: 'POST', body, headers });
  return { status: response.status, text: await response.text() };
}

// A session that has sent its CONNECT with a token for `user` and read the CONNECT answer.
async function connectedSession(user, h = hub) {
  const { sid } = await openSession(h);
  assert.deepEqual(await post(sid, `40${JSON.stringify({ token: token(user) })}`, h), { status: 200, text: 'ok' });
  const answer = await poll(sid, h);
  assert.match(answer.text, /^40\{"sid":"[^"]+"\}$/);
  return sid;
}

const unknownSid = { code: 1, message: 'Session ID unknown' };

// A GET the hub holds: resolves once the held-GET gauge shows it (instead of a sleep that
// assumes the request got there), with the pending answer.
async function heldPoll(sid, h = hub, init = {}) {
  const gauge = async () => (await metrics(h)).nudge_polling_held_gets ?? 0;
  const before = await gauge();
  const answer = poll(sid, h, init);
  await eventually(async () => (await gauge()) === before + 1);
  return { answer };
}

test('the polling handshake opens a session with the Engine.IO v4 fields', async () => {
  const { response, open } = await openSession();
  assert.match(response.headers.get('content-type'), /^text\/plain/);
  assert.deepEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
  assert.deepEqual(open.upgrades, ['websocket']);
  assert.equal(open.pingInterval, 25000);
  assert.equal(open.pingTimeout, 20000);
  assert.equal(open.maxPayload, 1000000);
  assert.equal(response.headers.get('access-control-allow-origin'), null);
});

test('bad requests get the Engine.IO error codes', async () => {
  const error = async (url, init) => {
    const response = await fetch(url, init);
    return { status: response.status, body: await response.json() };
  };
  assert.deepEqual(await error(path(hub), { method: 'POST', body: '40' }),
    { status: 400, body: { code: 2, message: 'Bad handshake method' } });
  assert.deepEqual(await error(`${hub.url}/socket.io/?EIO=3&transport=polling`),
    { status: 400, body: { code: 5, message: 'Unsupported protocol version' } });
  assert.deepEqual(await error(path(hub, 'no-such-session')), { status: 400, body: unknownSid });
  const { sid } = await openSession();
  assert.deepEqual(await error(path(hub, sid), { method: 'PUT', body: 'x' }),
    { status: 400, body: { code: 3, message: 'Bad request' } });
});

test('a connected polling client gets published events, several in one payload', async () => {
  const sid = await connectedSession('poll-events');
  assert.equal((await emit(hub, { room: 'user_poll-events', event: 'first', data: { n: 1 } })).status, 202);
  assert.equal((await emit(hub, { room: 'user_poll-events', event: 'second' })).status, 202);
  // Both may already be queued (one payload) or the second may follow in the next poll.
  // Published one after the other: both are usually queued before the poll (one payload).
  let packets = [];
  await eventually(async () => {
    const { status, text } = await poll(sid);
    assert.equal(status, 200);
    packets = packets.concat(text.split('\x1e'));
    return packets.length >= 2;
  });
  assert.deepEqual(packets, ['42["first",{"n":1}]', '42["second"]']);
});

test('a held GET is answered as soon as an event arrives', async () => {
  const sid = await connectedSession('poll-held');
  const { answer: held } = await heldPoll(sid);
  await emit(hub, { room: 'user_poll-held', event: 'now' });
  assert.equal((await held).text, '42["now"]');
});

test('binary packets are base64 decoded; malformed base64 closes the session', async () => {
  const sid = await connectedSession('poll-binary');
  // A BINARY_EVENT with one attachment, then the attachment: acknowledged (not relayed).
  assert.deepEqual(await post(sid, '451-1["upload",{"_placeholder":true,"num":0}]\x1ebAQIDBA=='),
    { status: 200, text: 'ok' });
  const ack = await poll(sid);
  assert.match(ack.text, /^431\[\{"error":"not_relayed"/);
  assert.equal((await post(sid, 'bAQ!DBA==')).status, 400);
  assert.deepEqual(JSON.parse((await poll(sid)).text), unknownSid);
});

test('an undecodable payload closes the session with 400', async () => {
  const { sid } = await openSession();
  assert.equal((await post(sid, 'abc')).status, 400);
  assert.equal((await poll(sid)).status, 400);
});

test('a second concurrent GET closes the session: the held one gets "1", the second 400', async () => {
  const { sid } = await openSession();
  const { answer: first } = await heldPoll(sid);
  const second = await poll(sid);
  assert.equal(second.status, 400);
  assert.deepEqual(await first, { ...(await first), status: 200, text: '1' });
  assert.deepEqual(JSON.parse((await poll(sid)).text), unknownSid);
});

test('a client close packet ends the held GET with a noop and the session', async () => {
  const { sid } = await openSession();
  const { answer: held } = await heldPoll(sid);
  assert.deepEqual(await post(sid, '1'), { status: 200, text: 'ok' });
  assert.equal((await held).text, '6');
  assert.equal((await poll(sid)).status, 400);
});

test('a held GET whose client goes away closes the session', async () => {
  const { sid } = await openSession();
  const controller = new AbortController();
  const { answer } = await heldPoll(sid, hub, { signal: controller.signal });
  const aborted = answer.catch(() => 'aborted');
  controller.abort();
  assert.equal(await aborted, 'aborted');
  await eventually(async () => (await poll(sid)).status === 400);
});

test('heartbeat: pings arrive in polls; without pongs the session times out', async () => {
  const fast = await startHub({ args: ['--ping-interval', '300', '--ping-timeout', '200'] });
  try {
    const { sid } = await openSession(fast);
    for (let i = 0; i < 3; i += 1) {
      assert.equal((await poll(sid, fast)).text, '2');
      assert.equal((await post(sid, '3', fast)).status, 200);
    }
    const { sid: silent } = await openSession(fast);
    await sleep(300 + 200 + 50);
    assert.deepEqual(JSON.parse((await poll(silent, fast)).text), unknownSid);
    const m = await metrics(fast);
    assert.ok(m['nudge_disconnects_total{reason="ping_timeout"}'] >= 1);
  } finally {
    await fast.stop();
  }
});

test('a POST over maxPayload gets 413 and closes the session', async () => {
  const small = await startHub({ args: ['--max-payload', '1024'] });
  try {
    const { sid } = await openSession(small);
    const response = await fetch(path(small, sid), { method: 'POST', body: `4${'x'.repeat(2000)}` });
    assert.equal(response.status, 413);
    assert.deepEqual(JSON.parse((await poll(sid, small)).text), unknownSid);
  } finally {
    await small.stop();
  }
});

function wsFor(sid, h = hub) {
  const socket = new WebSocket(`${h.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
  const messages = [];
  const waiters = [];
  socket.on('message', (data) => {
    const text = data.toString();
    if (text === '2') { socket.send('3'); return; }  // heartbeat, once upgraded
    if (waiters.length) waiters.shift()(text); else messages.push(text);
  });
  socket.next = () => (messages.length ? Promise.resolve(messages.shift())
    : new Promise((resolve) => waiters.push(resolve)));
  return socket;
}

test('upgrade: 2probe/3probe, the held GET gets a noop, 5 moves the session and its rooms to the WebSocket', async () => {
  const sid = await connectedSession('poll-upgrade');
  const held = poll(sid);
  const socket = wsFor(sid);
  await once(socket, 'open');
  socket.send('2probe');
  assert.equal(await socket.next(), '3probe');
  assert.equal((await held).text, '6');
  socket.send('5');
  await eventually(async () => (await poll(sid)).status === 400);  // polling is over
  await emit(hub, { room: 'user_poll-upgrade', event: 'after_upgrade' });
  assert.equal(await socket.next(), '42["after_upgrade"]');
  // A second WebSocket naming the upgraded sid is accepted and closed at once.
  const second = wsFor(sid);
  const [code] = await once(second, 'close');
  assert.equal(code, 1008);
  socket.close();
});

test('a failed probe leaves the session on polling', async () => {
  const sid = await connectedSession('poll-probe-fails');
  const socket = wsFor(sid);
  await once(socket, 'open');
  socket.close();
  await once(socket, 'close');
  await emit(hub, { room: 'user_poll-probe-fails', event: 'still_polling' });
  assert.equal((await poll(sid)).text, '42["still_polling"]');
});

test('a polling client that stops polling is dropped at the send-queue bound', async () => {
  const bounded = await startHub({ args: ['--max-send-queue', '4096', '--slow-consumer-timeout', '60000'] });
  try {
    const sid = await connectedSession('poll-slow', bounded);
    const before = (await metrics(bounded)).nudge_slow_consumer_drops_total ?? 0;
    for (let i = 0; i < 20; i += 1) {
      await emit(bounded, { room: 'user_poll-slow', event: 'bulk', data: { pad: 'x'.repeat(400), i } });
    }
    await eventually(async () => (await metrics(bounded)).nudge_slow_consumer_drops_total === before + 1);
    assert.deepEqual(JSON.parse((await poll(sid, bounded)).text), unknownSid);
  } finally {
    await bounded.stop();
  }
});

test('anonymous clients: refused by default, with --allow-anonymous they join only --anonymous-rooms', async () => {
  const { sid: refused } = await openSession();
  await post(refused, '40');
  assert.equal((await poll(refused)).text, '44{"message":"unauthorized","data":{"reason":"missing_token"}}');

  const open = await startHub({ args: ['--allow-anonymous', '--anonymous-rooms', 'status,news'] });
  try {
    const { sid } = await openSession(open);
    await post(sid, '40', open);
    assert.match((await poll(sid, open)).text, /^40\{"sid":/);
    await emit(open, { room: 'status', event: 'status_changed' });
    assert.equal((await poll(sid, open)).text, '42["status_changed"]');
    const m = await metrics(open);
    assert.equal(m.nudge_sessions, 1);
  } finally {
    await open.stop();
  }
});

test('CORS: only --allowed-origins get headers, never credentials; others are refused; the API answers no preflight', async () => {
  const h = await startHub({ args: ['--allowed-origins', 'http://app.test,http://other.test'] });
  try {
    const { sid, response } = await openSession(h, { origin: 'http://app.test' });
    assert.equal(response.headers.get('access-control-allow-origin'), 'http://app.test');
    assert.equal(response.headers.get('access-control-allow-credentials'), null);
    const preflight = await fetch(path(h, sid), {
      method: 'OPTIONS',
      headers: { origin: 'http://app.test', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://app.test');
    assert.match(preflight.headers.get('access-control-allow-methods'), /POST/);
    assert.equal(preflight.headers.get('access-control-allow-credentials'), null);

    const evil = await fetch(path(h), { headers: { origin: 'http://evil.test' } });
    assert.equal(evil.status, 403);
    assert.deepEqual(await evil.json(), { code: 4, message: 'Forbidden' });
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const evilWs = new WebSocket(`${h.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`,
      { origin: 'http://evil.test' });
    const [, res] = await once(evilWs, 'unexpected-response');
    assert.equal(res.statusCode, 403);

    const apiPreflight = await fetch(`${h.url}/api/v1/emit`, {
      method: 'OPTIONS',
      headers: { origin: 'http://app.test', 'access-control-request-method': 'POST' },
    });
    assert.ok([404, 405].includes(apiPreflight.status), String(apiPreflight.status));
    assert.equal(apiPreflight.headers.get('access-control-allow-origin'), null);
  } finally {
    await h.stop();
  }
  // Without the list: no CORS headers on polling, and WebSocket from any origin.
  const { response } = await openSession(hub, { origin: 'http://anywhere.test' });
  assert.equal(response.headers.get('access-control-allow-origin'), null);
  const anyWs = new WebSocket(`${hub.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`,
    { origin: 'http://anywhere.test' });
  await once(anyWs, 'open');
  anyWs.close();
});

test('a polling request that reaches another hub gets "Session ID unknown" (code 1)', async () => {
  const other = await startHub();
  try {
    const { sid } = await openSession(hub);
    const misrouted = await poll(sid, other);
    assert.equal(misrouted.status, 400);
    assert.deepEqual(JSON.parse(misrouted.text), unknownSid);
    await eventually(() => /info +engine\.io request refused .*reason="Session ID unknown"/.test(other.output()));
  } finally {
    await other.stop();
  }
});

test('sessions spread over the workers are all reachable (requests move to the owning worker)', async () => {
  // Each request may be accepted by any worker; 20 sessions polled on fresh connections
  // exercise the hand-over between workers.
  const sids = await Promise.all(Array.from({ length: 20 }, (_, i) => connectedSession(`spread-${i}`)));
  await Promise.all(sids.map((sid, i) => emit(hub, { room: `user_spread-${i}`, event: 'e', data: i })));
  await Promise.all(sids.map(async (sid, i) => {
    await eventually(async () => {
      const { status, text } = await poll(sid, hub, { headers: { connection: 'close' } });
      assert.equal(status, 200);
      return text === `42["e",${i}]`;
    }, { timeoutMs: 5000 * SLOW });
  }));
});
