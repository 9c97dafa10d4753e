// Every limit holds for long-polling as for WebSocket (issue 20): the pre-CONNECT payload
// limit, the sid checked before a body is read, subscribe-hook slots, per-address admission,
// the connect rate and the session cap charged per polling session (not per TCP connection),
// the pre-CONNECT deadline, and the subscribe hook shared fairly between users.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, Agent, request } from 'node:http';
import { createConnection } from 'node:net';
import { once } from 'node:events';
import { startHub, token, metrics, eventually } from './lib/hub.mjs';
import { startRedis } from './lib/redis.mjs';
import { openRaw } from './lib/raw_socket.mjs';

const path = (h, sid) => `${h.url}/socket.io/?EIO=4&transport=polling${sid ? `&sid=${sid}` : ''}`;

// One HTTP request over `agent` (an Agent with one keep-alive socket: every request of a test
// rides the same TCP connection).
function send(agent, h, { method = 'GET', sid, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = request(path(h, sid), { method, agent, localAddress: agent.localAddress }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// `localAddress`: the test's own requests (metrics) come from 127.0.0.1, under the per-IP limit.
const oneConnection = (localAddress = '127.0.0.1') => Object.assign(
  new Agent({ keepAlive: true, maxSockets: 1 }), { localAddress });

async function openSession(h, agent) {
  const answer = await send(agent, h);
  if (answer.status !== 200) return { status: answer.status, text: answer.text };
  assert.equal(answer.text[0], '0');
  return { status: 200, sid: JSON.parse(answer.text.slice(1)).sid };
}

const unknownSid = { code: 1, message: 'Session ID unknown' };

test('an unauthenticated polling session POSTing 32 KiB is refused like a WebSocket one', async () => {
  const hub = await startHub();
  const agent = oneConnection();
  try {
    // Under --max-payload (1 MB) but over --max-unauthenticated-payload (16 KiB): before its
    // CONNECT is accepted the session may send no more than a WebSocket client may.
    const big = `40${JSON.stringify({ token: 'x'.repeat(32 * 1024) })}`;
    const { sid } = await openSession(hub, agent);
    const posted = await send(agent, hub, { method: 'POST', sid, body: big });
    assert.equal(posted.status, 413, posted.text);
    assert.deepEqual(JSON.parse((await send(oneConnection(), hub, { sid })).text), unknownSid);

    const ws = await openRaw(hub);
    ws.ws.send(big);
    assert.equal(await ws.closed, 1009);
    const m = await metrics(hub);
    assert.equal(m['nudge_disconnects_total{reason="payload_too_large"}'], 2);

    // Once connected, the session may POST up to --max-payload.
    const connected = await openSession(hub, agent);
    const hello = await send(agent, hub, { method: 'POST', sid: connected.sid, body: `40${JSON.stringify({ token: token('big') })}` });
    assert.equal(hello.status, 200);
    assert.match((await send(agent, hub, { sid: connected.sid })).text, /^40\{/);
    const large = await send(agent, hub, { method: 'POST', sid: connected.sid, body: `42["x","${'y'.repeat(32 * 1024)}"]` });
    assert.deepEqual(large, { status: 200, text: 'ok' });
  } finally {
    agent.destroy();
    await hub.stop();
  }
});

test('the sid of a POST is checked before its body is read: an unknown sid gets 400 at once', async () => {
  const hub = await startHub();
  const { hostname, port } = new URL(hub.url);
  const socket = createConnection({ host: hostname, port: Number(port) });
  try {
    await once(socket, 'connect');
    // The header announces a body that never comes: the answer cannot wait for it.
    socket.write(`POST /socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\n` +
      `Host: ${hostname}\r\nContent-Type: text/plain\r\nContent-Length: 900000\r\n\r\n`);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => { answer += chunk; });
    await eventually(() => answer.includes('\r\n\r\n') && answer.includes('}'));
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.deepEqual(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), unknownSid);
  } finally {
    socket.destroy();
    await hub.stop();
  }
});

test('one keep-alive connection cannot open more polling sessions than --max-connections-per-ip', async () => {
  const hub = await startHub({ args: ['--max-connections-per-ip', '2'] });
  const agent = oneConnection('127.0.0.5');
  try {
    // The connection holds one slot; its first session takes that slot over, a second one
    // needs a slot of its own, the third finds none.
    const first = await openSession(hub, agent);
    const second = await openSession(hub, agent);
    const third = await openSession(hub, agent);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    assert.equal(third.status, 429, third.text);
    assert.equal(JSON.parse(third.text).error.code, 'too_many_connections');
    assert.ok((await metrics(hub)).nudge_connections_refused_per_ip_total >= 1);
    // A session that ends gives its slot back.
    assert.deepEqual(await send(agent, hub, { method: 'POST', sid: second.sid, body: '1' }), { status: 200, text: 'ok' });
    assert.equal((await openSession(hub, agent)).status, 200);
  } finally {
    agent.destroy();
    await hub.stop();
  }
});

test('polling handshakes are charged to --max-connect-rate and to --max-polling-sessions', async () => {
  const limited = await startHub({ args: ['--max-connect-rate', '1'] });
  const agent = oneConnection();
  try {
    const answers = [];
    for (let i = 0; i < 12; i += 1) answers.push((await openSession(limited, agent)).status);
    // The connection took the one token and gave it to its first session; one more comes a
    // second: 12 handshakes in a row on one connection cannot all pass.
    const refused = answers.filter((s) => s === 429).length;
    assert.ok(refused >= 6, JSON.stringify(answers));
    // The test's own scrape is a new connection, refused too until a token comes.
    await eventually(async () => {
      const m = await metrics(limited).catch(() => null);
      return m !== null && m.nudge_connections_refused_rate_total >= refused;
    });
  } finally {
    agent.destroy();
    await limited.stop();
  }

  const capped = await startHub({ args: ['--max-polling-sessions', '2'] });
  const capAgent = oneConnection();
  try {
    const a = await openSession(capped, capAgent);
    assert.equal(a.status, 200);
    assert.equal((await openSession(capped, capAgent)).status, 200);
    const refused = await openSession(capped, capAgent);
    assert.equal(refused.status, 503, refused.text);
    assert.equal(JSON.parse(refused.text).error.code, 'too_many_sessions');
    const m = await metrics(capped);
    assert.equal(m.nudge_polling_sessions, 2);
    assert.equal(m.nudge_polling_sessions_refused_total, 1);
    await send(capAgent, capped, { method: 'POST', sid: a.sid, body: '1' });
    assert.equal((await openSession(capped, capAgent)).status, 200);
  } finally {
    capAgent.destroy();
    await capped.stop();
  }
});

test('a session that never CONNECTs is closed for connect_timeout, even when a ping is unanswered too', async () => {
  // Both deadlines fall together: the session never connected, so that is the reason.
  const hub = await startHub({ args: ['--ping-interval', '200', '--ping-timeout', '200', '--connect-timeout', '400'] });
  const agent = oneConnection();
  try {
    const { sid } = await openSession(hub, agent);
    await eventually(async () => (await metrics(hub))['nudge_disconnects_total{reason="connect_timeout"}'] === 1);
    const m = await metrics(hub);
    assert.equal(m['nudge_disconnects_total{reason="ping_timeout"}'] ?? 0, 0);
    assert.deepEqual(JSON.parse((await send(agent, hub, { sid })).text), unknownSid);
  } finally {
    agent.destroy();
    await hub.stop();
  }
});

// A backend's subscribe hook that never answers (until close), recording who asked; answers
// 200 at once for users in `fast`.
async function holdingHook(fast = new Set()) {
  const asked = [];
  const held = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const { user, room } = JSON.parse(body);
      asked.push({ user, room });
      if (fast.has(user)) res.writeHead(200).end('{}');
      else held.push(res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}/subscribe`,
    asked: (user) => asked.filter((a) => a.user === user).length,
    close: () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}

const subscribePacket = (id, room) => `42${id}["nudge:subscribe",{"room":"${room}"}]`;
const isBusy = (text) => /^43\d+\[\{"ok":false,"error":\{"code":"busy"/.test(text);

test('a polling and a WebSocket client get the same number of subscribe-hook slots', async () => {
  // A Redis broker answers a CONNECT later (its rooms are subscribed first): the subscribes
  // arrive while that answer is pending, which must not take a hook slot.
  const redis = await startRedis();
  const hook = await holdingHook();
  // A short ping interval: a GET that finds nothing queued is held until the next ping, which
  // would otherwise be 25 s away.
  const hub = await startHub({
    broker: redis.url,
    args: ['--threads', '1', '--subscribe-hook', hook.url, '--subscribe-hook-timeout', '60000', '--ping-interval', '500'],
  });
  const agent = oneConnection();
  const rooms = [1, 2, 3, 4, 5, 6].map((i) => subscribePacket(i, `project_${i}`));
  try {
    const ws = await openRaw(hub);
    // One message per packet, all in one write: processed in one turn, before Redis answers.
    ws.ws.send(`40${JSON.stringify({ token: token('slots-ws') })}`);
    for (const packet of rooms) ws.ws.send(packet);
    await eventually(() => hook.asked('slots-ws') + ws.messages.filter(isBusy).length === 6);

    const { sid } = await openSession(hub, agent);
    const body = [`40${JSON.stringify({ token: token('slots-poll') })}`, ...rooms].join('\x1e');
    assert.deepEqual(await send(agent, hub, { method: 'POST', sid, body }), { status: 200, text: 'ok' });
    const received = [];
    await eventually(async () => {
      received.push(...(await send(agent, hub, { sid })).text.split('\x1e'));
      return hook.asked('slots-poll') + received.filter(isBusy).length === 6;
    });
    assert.equal(hook.asked('slots-ws'), 4);
    assert.equal(hook.asked('slots-poll'), hook.asked('slots-ws'));
    ws.ws.close();
  } finally {
    agent.destroy();
    await hub.stop();
    hook.close();
    await redis.stop();
  }
});

test('one user with many sockets cannot starve other users of the subscribe hook', async () => {
  // Worker's hook budget: 8 calls in flight, at most 2 per user. User "hog" opens 20 sockets
  // and asks 4 rooms on each against a hook that never answers it.
  const hook = await holdingHook(new Set(['b1', 'b2', 'b3']));
  const hub = await startHub({
    args: ['--threads', '1', '--subscribe-hook', hook.url, '--subscribe-hook-timeout', '60000',
      '--subscribe-hook-max-pending', '8', '--subscribe-hook-max-per-user', '2'],
  });
  const sockets = [];
  try {
    for (let i = 0; i < 20; i += 1) {
      const raw = await openRaw(hub);
      sockets.push(raw);
      raw.ws.send(`40${JSON.stringify({ token: token('hog') })}`);
      await raw.next('40{');
      for (let r = 1; r <= 4; r += 1) raw.ws.send(subscribePacket(r, `hog_${i}_${r}`));
    }
    // Every one of the hog's 80 subscribes is answered busy or asked.
    await eventually(() => hook.asked('hog') + sockets.reduce((n, s) => n + s.messages.filter(isBusy).length, 0) === 80);
    assert.equal(hook.asked('hog'), 2);
    for (const user of ['b1', 'b2', 'b3']) {
      const raw = await openRaw(hub);
      sockets.push(raw);
      raw.ws.send(`40${JSON.stringify({ token: token(user) })}`);
      await raw.next('40{');
      raw.ws.send(subscribePacket(1, `room_${user}`));
      assert.equal(await raw.next('431'), '431[{"ok":true}]');
    }
    const m = await metrics(hub);
    assert.equal(m['nudge_subscriptions_total{result="granted_hook"}'], 3);
    assert.ok(m.nudge_subscribe_hook_refused_per_user_total >= 78);
  } finally {
    for (const s of sockets) s.ws.close();
    await hub.stop();
    hook.close();
  }
});
