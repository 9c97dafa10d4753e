// --jwt-jwks against a JWKS served over local HTTP (and from a file; https: jwks_https.test.mjs): tokens of several keys by
// kid, key rotation picked up on an unknown kid, unknown_kid refusals, jku never fetched, and a
// bad document keeping the last good keys. Keys and signatures come from node:crypto.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { startHub, API_KEY, connected, connectError, eventually, freePort, metrics } from './lib/hub.mjs';

const b64url = (value) => Buffer.from(value).toString('base64url');

function makeKey(kind, kid) {
  const pair = kind === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : kind === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('ed25519');
  return { kind, kid, privateKey: pair.privateKey, jwk: { ...pair.publicKey.export({ format: 'jwk' }), kid } };
}

function jwt(key, claims, header = {}) {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64url(JSON.stringify({ alg: key.kind, kid: key.kid, ...header }))}.` +
    b64url(JSON.stringify({ iat: now, exp: now + 600, ...claims }));
  const data = Buffer.from(input);
  const signature = key.kind === 'RS256' ? sign('sha256', data, key.privateKey)
    : key.kind === 'ES256' ? sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign(null, data, key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

// An HTTP server answering every request with `body()`, counting requests.
async function serve(body) {
  const server = createServer((req, res) => {
    server.requests += 1;
    res.setHeader('content-type', 'application/json');
    res.end(body());
  });
  server.requests = 0;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.url = `http://127.0.0.1:${server.address().port}`;
  return server;
}

const a = makeKey('RS256', 'a');
const b = makeKey('ES256', 'b');
const c = makeKey('EdDSA', 'c');
let document = JSON.stringify({ keys: [a.jwk, b.jwk] });
let idp;
let elsewhere;
let hub;
const sockets = [];

before(async () => {
  idp = await serve(() => document);
  elsewhere = await serve(() => JSON.stringify({ keys: [c.jwk] }));
  hub = await startHub({
    keys: false,
    args: ['--api-key', API_KEY, '--jwt-jwks', `${idp.url}/.well-known/jwks.json`, '--jwt-jwks-min-refresh', '1'],
  });
});
after(async () => {
  for (const s of sockets) s.close();
  await hub?.stop();
  idp?.close();
  elsewhere?.close();
});

function client(token) {
  const socket = io(hub.url, { auth: { token }, transports: ['websocket'], reconnection: false });
  sockets.push(socket);
  return socket;
}

test('tokens signed by kid a (RS256) and kid b (ES256) are accepted; unknown kids are refused', async () => {
  assert.equal(idp.requests, 1, 'fetched once at start');
  await connected(client(jwt(a, { sub: 'alice' })));
  await connected(client(jwt(b, { sub: 'bob' })));
  const unknown = await connectError(client(jwt(c, { sub: 'carol' })));
  assert.equal(unknown.message, 'unauthorized');
  assert.equal(unknown.data.reason, 'unknown_kid');
  // A token claiming another key's algorithm is refused: the key pins it.
  const confused = await connectError(client(jwt({ ...a, kind: 'RS256', kid: 'b' }, { sub: 'x' })));
  assert.equal(confused.data.reason, 'algorithm_not_allowed');
  assert.ok((await metrics(hub))['nudge_auth_failures_total{reason="unknown_kid"}'] >= 1);
});

test('a rotated key is picked up after a token names its kid; made-up kids fetch at most once per interval', async () => {
  document = JSON.stringify({ keys: [a.jwk, b.jwk, c.jwk] });
  const fetched = idp.requests;
  // The first token with the new kid is refused (the hub does not hold a CONNECT for I/O)
  // and makes the hub fetch the set again; the client's retry is accepted.
  await eventually(async () => {
    try {
      await connected(client(jwt(c, { sub: 'carol' })));
      return true;
    } catch {
      return false;
    }
  }, { intervalMs: 200 });
  assert.ok(idp.requests > fetched);
  assert.ok((await metrics(hub)).nudge_jwks_refreshes_total >= 1);
  const before = idp.requests;
  await Promise.all(Array.from({ length: 20 }, (_, i) =>
    connectError(client(jwt({ ...c, kid: `made-up-${i}` }, { sub: 'mallory' })))));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.ok(idp.requests - before <= 1, `${idp.requests - before} fetches for 20 unknown kids within 1 s`);
});

test('a token with jku pointing at another server never makes the hub fetch from it', async () => {
  const forged = makeKey('EdDSA', 'forged');
  const token = jwt(forged, { sub: 'mallory' }, { jku: `${elsewhere.url}/jwks.json`, x5u: `${elsewhere.url}/cert` });
  assert.equal((await connectError(client(token))).data.reason, 'unknown_kid');
  // With a kid the set has, jku is simply ignored.
  await connected(client(jwt(a, { sub: 'alice' }, { jku: `${elsewhere.url}/jwks.json` })));
  await new Promise((resolve) => setTimeout(resolve, 1500));  // past the refresh interval
  assert.equal(elsewhere.requests, 0);
});

test('a bad JWKS document is logged and the last good keys stay', async () => {
  document = '{"keys": "not a list"';
  const fetched = idp.requests;
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal((await connectError(client(jwt({ ...c, kid: 'zzz' }, { sub: 'x' })))).data.reason, 'unknown_kid');
  await eventually(async () => idp.requests > fetched &&
    (await metrics(hub)).nudge_jwks_refresh_failures_total === 1);
  await connected(client(jwt(a, { sub: 'alice' })));
  await connected(client(jwt(c, { sub: 'carol' })));
  document = JSON.stringify({ keys: [a.jwk, b.jwk, c.jwk] });
});

test('a JWKS file works too, and a hub whose JWKS cannot be loaded does not start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-jwks-'));
  try {
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [c.jwk] }));
    const fileHub = await startHub({ keys: false, args: ['--api-key', API_KEY, '--jwt-jwks', file] });
    try {
      const socket = io(fileHub.url, { auth: { token: jwt(c, { sub: 'carol' }) }, transports: ['websocket'], reconnection: false });
      await connected(socket);
      socket.close();
    } finally {
      await fileHub.stop();
    }
    writeFileSync(file, '{"keys":[]}');
    await assert.rejects(startHub({ keys: false, args: ['--api-key', API_KEY, '--jwt-jwks', file] }),
      /no usable signing key/);
    const closed = await freePort();  // nothing listens there
    await assert.rejects(startHub({ keys: false, args: ['--api-key', API_KEY, '--jwt-jwks', `http://127.0.0.1:${closed}/jwks`] }),
      /exited \(2\)[^]*--jwt-jwks: GET http:\/\/127\.0\.0\.1:\d+\/jwks: connect to 127\.0\.0\.1:\d+ failed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
