// deploy/nginx/nudge.conf in front of two real hubs: a real nginx (Debian's, started by this
// test as its own process) terminates TLS with a certificate the test makes, upgrades
// WebSockets and balances them; socket.io-client connects over wss://.
//
// With the embedded broker (the default) each hub delivers to its own clients only, so an emit
// reaches a client when it is posted to the hub that client landed on (which hub: its
// nudge_sessions in /metrics), as a backend posting to every hub does. Across hubs through one
// broker is the Redis broker's business and its tests'.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import {
  startHub, token, connected, emit, metrics, eventually, freePort, nextEvent, API_KEY,
} from './lib/hub.mjs';
import { localize, startNginx } from './lib/nginx.mjs';

let dir;
let hubs;
let nginx;
let httpsUrl;
let httpPort;
let ca;
const sockets = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nudge-nginx-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', join(dir, 'hub.key'), '-out', join(dir, 'hub.crt'),
  ], { stdio: 'ignore' });
  ca = readFileSync(join(dir, 'hub.crt'));

  hubs = await Promise.all([startHub(), startHub()]);
  const httpsPort = await freePort();
  httpPort = await freePort();
  httpsUrl = `https://127.0.0.1:${httpsPort}`;
  const site = localize('nudge.conf', {
    'hub 1': `    server 127.0.0.1:${hubs[0].port} max_fails=1 fail_timeout=5s;`,
    'hub 2': `    server 127.0.0.1:${hubs[1].port} max_fails=1 fail_timeout=5s;`,
    'http port': `    listen 127.0.0.1:${httpPort};`,
    'ipv6 http': '',
    'https port': `    listen 127.0.0.1:${httpsPort} ssl;`,
    'ipv6 https': '',
    certificate: `    ssl_certificate ${join(dir, 'hub.crt')};`,
    key: `    ssl_certificate_key ${join(dir, 'hub.key')};`,
  });
  nginx = await startNginx(dir, site, {
    ready: async () => (await httpsGet('/healthz').catch(() => null))?.status === 200,
  });
});

after(async () => {
  for (const socket of sockets) socket.disconnect();
  await nginx?.stop(); // SIGTERM, a fast shutdown: does not wait for proxied WebSockets
  await Promise.all((hubs ?? []).map((hub) => hub.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function httpsGet(path, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = request(`${httpsUrl}${path}`, { method, headers, ca }, (res) => {
      let text = '';
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// A seed-style client over wss:// through nginx, trusting the test's certificate.
function wssClient(user) {
  const socket = io(httpsUrl, {
    auth: { token: token(user) },
    transports: ['websocket'],
    reconnection: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    ca,
  });
  sockets.push(socket);
  return socket;
}

const sessions = async () => Promise.all(hubs.map(async (hub) => (await metrics(hub)).nudge_sessions ?? 0));

// Connects `user` through nginx and returns the socket and the index of the hub it landed on.
async function connectThroughProxy(user) {
  const before = await sessions();
  const socket = await connected(wssClient(user));
  const landed = await eventually(async () => {
    const now = await sessions();
    const grown = now.findIndex((n, i) => n === before[i] + 1);
    return grown >= 0 && now.reduce((a, b) => a + b) === before.reduce((a, b) => a + b) + 1 ? grown + 1 : 0;
  });
  return { socket, hub: landed - 1 };
}

test('wss:// through nginx to two hubs: balanced, and an emit to the hub a client is on reaches it', async () => {
  const clients = [];
  for (const user of ['u1', 'u2', 'u3', 'u4']) clients.push({ user, ...(await connectThroughProxy(user)) });
  // Round robin over one nginx worker: the four WebSockets are spread over both hubs.
  const counts = await sessions();
  assert.deepEqual(counts, [2, 2], `sessions per hub: ${counts}`);

  for (const { user, socket, hub } of clients) {
    const received = nextEvent(socket, 'balance_updated');
    const { status, json } = await emit(hubs[hub], { room: `user_${user}`, event: 'balance_updated', data: { user } });
    assert.equal(status, 202);
    assert.equal(json.accepted, 1);
    assert.deepEqual(await received, [{ user }]);
  }
});

test('the publish API through nginx over TLS (a backend using the proxy URL)', async () => {
  const { socket, hub } = await connectThroughProxy('p1');
  // Round robin sends successive requests to alternating hubs: publish until the one holding
  // this client has taken one (each answer is 202 either way: the other hub has no such client).
  const received = nextEvent(socket, 'profile_updated', 10_000);
  let posted = 0;
  await eventually(async () => {
    const before = (await metrics(hubs[hub])).nudge_emits_total ?? 0;
    const answer = await httpsGet('/api/v1/emit', {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'user_p1', event: 'profile_updated', data: { n: ++posted } }),
    });
    assert.equal(answer.status, 202, answer.text);
    assert.equal(JSON.parse(answer.text).accepted, 1);
    return ((await metrics(hubs[hub])).nudge_emits_total ?? 0) > before;
  });
  const [data] = await received;
  assert.ok(data.n >= 1 && data.n <= posted);
  assert.ok(posted <= 2, `round robin over two hubs took ${posted} requests`);

  const wrongKey = await httpsGet('/api/v1/emit', {
    method: 'POST',
    headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' },
    body: JSON.stringify({ room: 'user_p1', event: 'x' }),
  });
  assert.equal(wrongKey.status, 401);
  assert.equal(JSON.parse(wrongKey.text).error.code, 'unauthorized');
  socket.disconnect();
});

test('plain HTTP is redirected to HTTPS; other paths are not proxied', async () => {
  const response = await fetch(`http://127.0.0.1:${httpPort}/socket.io/?EIO=4&transport=websocket`, { redirect: 'manual' });
  assert.equal(response.status, 301);
  assert.match(response.headers.get('location'), /^https:\/\/127\.0\.0\.1\/socket\.io\//);
  assert.equal((await httpsGet('/metrics')).status, 404);
  assert.equal((await httpsGet('/healthz')).status, 200);
});

test('a hub stops: its clients reconnect through nginx to the other hub and get its emits', async () => {
  const { socket, hub } = await connectThroughProxy('f1');
  const other = 1 - hub;
  // The socket's own `connect` (the hub acknowledged the namespace: the client is in its rooms),
  // not the manager's `reconnect` (the transport is open, CONNECT may still be in flight).
  const reconnected = new Promise((resolve) => socket.once('connect', resolve));
  const { code } = await hubs[hub].stop('SIGTERM');
  assert.equal(code, 0);
  await reconnected;
  const received = nextEvent(socket, 'balance_updated');
  const { status } = await emit(hubs[other], { room: 'user_f1', event: 'balance_updated', data: { after: 'failover' } });
  assert.equal(status, 202);
  assert.deepEqual(await received, [{ after: 'failover' }]);
});
