// GET /api/v1/position: the position a server-rendered page embeds. A socket.io-client whose
// first CONNECT carries that pid and offset (as @nudge/react-query's `resumeFrom` sends them)
// gets every event of its rooms published after the position replayed, and only those; a
// position from before a restart (another epoch) gets nudge:resync naming its rooms. With the Redis
// broker the position is Redis's, so any hub of a cluster may answer it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { startHub, token, connected, emit, eventually, API_KEY } from './lib/hub.mjs';
import { startRedis } from './lib/redis.mjs';

const hubs = [];
const sockets = [];
let redis;
after(async () => {
  for (const s of sockets) s.disconnect();
  for (const h of hubs) await h.stop();
  await redis?.stop();
});

async function hub(recovery = true) {
  const h = await startHub({ recovery });
  hubs.push(h);
  return h;
}

async function position(h, apiKey = API_KEY) {
  const response = await fetch(`${h.url}/api/v1/position`, {
    headers: { authorization: `Bearer ${apiKey}` },
  });
  return { status: response.status, json: await response.json() };
}

// A client resuming from a rendered position: the pid and offset ride in its first CONNECT.
async function resume(h, sub, at) {
  const socket = io(h.url, {
    transports: ['websocket'],
    auth: { token: token(sub), pid: at.pid, offset: at.offset },
  });
  sockets.push(socket);
  socket.got = [];
  socket.onAny((name, ...args) => socket.got.push([name, ...args]));
  await connected(socket);
  return socket;
}

const publish = async (h, room, i) => {
  const r = await emit(h, { room, event: 'n', data: { i } });
  assert.equal(r.status, 202, r.text);
  return r.json.events[0].offset;
};

test('events published after the position are replayed at the first CONNECT, earlier ones not', async () => {
  const h = await hub();
  await publish(h, 'user_p1', 1);
  const at = await position(h);
  assert.equal(at.status, 200);
  assert.match(at.json.offset, /^[^:]+:\d+$/);
  assert.ok(at.json.pid.startsWith(`${at.json.offset}:`), at.json.pid);
  // Rendered here; these happen before the browser's socket connects.
  await publish(h, 'user_p1', 2);
  await publish(h, 'user_other', 3);
  const last = await publish(h, 'user_p1', 4);
  const socket = await resume(h, 'p1', at.json);
  await publish(h, 'user_p1', 5); // live, after the CONNECT: the end marker
  await eventually(() => socket.got.length === 3);
  assert.deepEqual(socket.got.map(([name, data]) => [name, data.i]), [['n', 2], ['n', 4], ['n', 5]]);
  assert.equal(socket.got[1][2], last, 'replayed events carry their offsets');
});

test('with the Redis broker every hub answers one position: rendered on A, published on B, resumed on C', async () => {
  redis = await startRedis();
  const cluster = [];
  for (let i = 0; i < 3; i++) {
    const h = await startHub({ broker: redis.url, recovery: true });
    hubs.push(h);
    cluster.push(h);
  }
  const at = await position(cluster[0]);
  assert.equal(at.status, 200);
  await publish(cluster[1], 'user_p3', 1);
  const socket = await resume(cluster[2], 'p3', at.json);
  await publish(cluster[1], 'user_p3', 2); // live: the end marker
  await eventually(() => socket.got.length === 2);
  assert.deepEqual(socket.got.map(([name, data]) => [name, data.i]), [['n', 1], ['n', 2]]);
});

test('a position from another epoch (the hub restarted) resyncs the rooms of the token', async () => {
  const first = await hub();
  const at = await position(first);
  await first.stop();
  const second = await startHub({ port: first.port, recovery: true });
  hubs.push(second);
  const socket = await resume(second, 'p2', at.json);
  await publish(second, 'user_p2', 1);
  await eventually(() => socket.got.some(([, data]) => data?.i === 1));
  assert.deepEqual(socket.got[0], ['nudge:resync', { rooms: ['user_p2'] }]);
  assert.equal(socket.got.length, 2);
});

test('without the API key 401; without recovery 409 naming --recovery on', async () => {
  const h = await hub(false);
  const wrong = await position(h, 'nope');
  assert.equal(wrong.status, 401);
  assert.equal(wrong.json.error.code, 'unauthorized');
  const off = await position(h);
  assert.equal(off.status, 409);
  assert.equal(off.json.error.code, 'recovery_off');
  assert.match(off.json.error.message, /--recovery on/);
  const post = await fetch(`${h.url}/api/v1/position`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` } });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET');
});
