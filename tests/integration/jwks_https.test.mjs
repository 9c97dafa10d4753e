// --jwt-jwks over https: a Node https server with a self-signed certificate made at test time
// by the openssl CLI serves the JWKS. Trusted through --jwt-jwks-ca, the hub loads it and a
// client with a token of the served key connects (and a rotated key is fetched again over
// TLS); untrusted (no --jwt-jwks-ca), for another host name, or answered with a redirect, the
// hub does not start — there is no insecure fallback — nor when the handshake never completes
// (the fetch's 5 s deadline). A TLS failure at a later refresh keeps the last good keys.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import { once } from 'node:events';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { io } from 'socket.io-client';
import { startHub, API_KEY, connected, connectError, eventually, metrics } from './lib/hub.mjs';

const run = promisify(execFile);
const b64url = (value) => Buffer.from(value).toString('base64url');

function makeKey(kid) {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, privateKey: pair.privateKey, jwk: { ...pair.publicKey.export({ format: 'jwk' }), kid } };
}

function jwt(key, sub) {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64url(JSON.stringify({ alg: 'ES256', kid: key.kid }))}.` +
    b64url(JSON.stringify({ sub, iat: now, exp: now + 600 }));
  const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

// A self-signed certificate (its own CA) for `san`, made by the openssl CLI.
async function selfSigned(dir, name, san) {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', `subjectAltName=${san}`]);
  return { cert, key: readFileSync(key), pem: readFileSync(cert) };
}

// An https server answering every request with `answer(req, res)`, recording each request's
// path and TLS server name (SNI).
async function serveTls(tls, answer) {
  const server = createServer({ key: tls.key, cert: tls.pem }, (req, res) => {
    server.seen.push({ path: req.url, servername: req.socket.servername });
    answer(req, res);
  });
  server.seen = [];
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.port = server.address().port;
  return server;
}

const a = makeKey('a');
const b = makeKey('b');
let document = JSON.stringify({ keys: [a.jwk] });
let dir;
let trusted;   // SAN IP:127.0.0.1, DNS:localhost
let wrongHost; // SAN DNS:other.example only
let idp;
let hub;
const sockets = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nudge-jwks-https-'));
  trusted = await selfSigned(dir, 'trusted', 'IP:127.0.0.1,DNS:localhost');
  wrongHost = await selfSigned(dir, 'other', 'DNS:other.example');
  idp = await serveTls(trusted, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(document);
  });
  hub = await startHub({
    keys: false,
    args: ['--api-key', API_KEY, '--jwt-jwks', `https://127.0.0.1:${idp.port}/jwks.json`,
      '--jwt-jwks-ca', trusted.cert, '--jwt-jwks-min-refresh', '1'],
  });
});

after(async () => {
  for (const s of sockets) s.close();
  await hub?.stop();
  idp?.close();
  rmSync(dir, { recursive: true, force: true });
});

function client(target, token) {
  const socket = io(target.url, { auth: { token }, transports: ['websocket'], reconnection: false });
  sockets.push(socket);
  return socket;
}

test('with --jwt-jwks-ca the hub loads the JWKS over https and accepts tokens of its key', async () => {
  assert.deepEqual(idp.seen.map((r) => r.path), ['/jwks.json'], 'fetched once at start');
  assert.ok(!idp.seen[0].servername, 'no SNI for an IP address');
  await connected(client(hub, jwt(a, 'alice')));
  assert.equal((await connectError(client(hub, jwt(b, 'bob')))).data.reason, 'unknown_kid');
});

test('a rotated key is fetched again over https after a token names its kid', async () => {
  document = JSON.stringify({ keys: [a.jwk, b.jwk] });
  await eventually(async () => {
    try {
      await connected(client(hub, jwt(b, 'bob')));
      return true;
    } catch {
      return false;
    }
  }, { intervalMs: 200 });
  assert.ok((await metrics(hub)).nudge_jwks_refreshes_total >= 1);
});

test('a TLS failure at a refresh is counted and the last good keys stay', async () => {
  idp.setSecureContext({ key: wrongHost.key, cert: wrongHost.pem });
  try {
    const failures = (await metrics(hub)).nudge_jwks_refresh_failures_total ?? 0;
    const unknown = makeKey('c');
    await eventually(async () => {
      await connectError(client(hub, jwt(unknown, 'carol')));
      return (await metrics(hub)).nudge_jwks_refresh_failures_total > failures;
    }, { intervalMs: 300 });
    assert.match(hub.output(), /jwks refresh failed.*TLS handshake with 127\.0\.0\.1:\d+ failed: certificate verify failed: self-signed certificate/);
    await connected(client(hub, jwt(a, 'alice')));
    await connected(client(hub, jwt(b, 'bob')));
  } finally {
    idp.setSecureContext({ key: trusted.key, cert: trusted.pem });
  }
});

test('a DNS name is sent as SNI and checked against the certificate', async () => {
  const named = await startHub({
    keys: false,
    args: ['--api-key', API_KEY, '--jwt-jwks', `https://localhost:${idp.port}/named.json`, '--jwt-jwks-ca', trusted.cert],
  });
  try {
    await connected(client(named, jwt(a, 'alice')));
  } finally {
    await named.stop();
  }
  // Only this test asks for /named.json (the suite's own hub may fetch /jwks.json meanwhile).
  assert.deepEqual(idp.seen.filter((r) => r.path === '/named.json').map((r) => [r.path, r.servername]),
    [['/named.json', 'localhost']]);
});

test('without --jwt-jwks-ca the self-signed certificate is refused and the hub does not start', async () => {
  // A path only this test asks for: the suite's own hub may fetch /jwks.json meanwhile.
  await assert.rejects(startHub({
    keys: false,
    args: ['--api-key', API_KEY, '--jwt-jwks', `https://127.0.0.1:${idp.port}/untrusted.json`],
  }), (error) => {
    assert.match(error.message, /nudged exited \(2\)/);
    assert.match(error.message, /--jwt-jwks: GET https:\/\/127\.0\.0\.1:\d+\/untrusted\.json: TLS handshake with 127\.0\.0\.1:\d+ failed: certificate verify failed: self-signed certificate/);
    return true;
  });
  assert.deepEqual(idp.seen.filter((r) => r.path === '/untrusted.json'), [],
    'no request was sent over the untrusted connection');
});

test('without --jwt-jwks-ca the system CA store decides; with it, only its bundle is trusted', async () => {
  // OpenSSL's default verify paths (the system store) honour SSL_CERT_FILE: point them at the
  // test CA, and the hub trusts the server without --jwt-jwks-ca.
  const viaSystem = await startHub({
    keys: false,
    env: { SSL_CERT_FILE: trusted.cert },
    args: ['--api-key', API_KEY, '--jwt-jwks', `https://127.0.0.1:${idp.port}/system.json`],
  });
  try {
    await connected(client(viaSystem, jwt(a, 'alice')));
  } finally {
    await viaSystem.stop();
  }
  // --jwt-jwks-ca replaces the system store rather than adding to it.
  await assert.rejects(startHub({
    keys: false,
    env: { SSL_CERT_FILE: trusted.cert },
    args: ['--api-key', API_KEY, '--jwt-jwks', `https://127.0.0.1:${idp.port}/jwks.json`, '--jwt-jwks-ca', wrongHost.cert],
  }), /exited \(2\)[^]*TLS handshake with 127\.0\.0\.1:\d+ failed: certificate verify failed: self-signed certificate/);
});

test('a certificate for another host name is refused even when its CA is trusted', async () => {
  const other = await serveTls(wrongHost, (req, res) => res.end(document));
  try {
    await assert.rejects(startHub({
      keys: false,
      args: ['--api-key', API_KEY, '--jwt-jwks', `https://127.0.0.1:${other.port}/jwks.json`, '--jwt-jwks-ca', wrongHost.cert],
    }), /exited \(2\)[^]*TLS handshake with 127\.0\.0\.1:\d+ failed: certificate verify failed: IP address mismatch/);
    await assert.rejects(startHub({
      keys: false,
      args: ['--api-key', API_KEY, '--jwt-jwks', `https://localhost:${other.port}/jwks.json`, '--jwt-jwks-ca', wrongHost.cert],
    }), /exited \(2\)[^]*TLS handshake with localhost:\d+ failed: certificate verify failed: hostname mismatch/);
    assert.equal(other.seen.length, 0);
  } finally {
    other.close();
  }
});

test('a redirect is not followed: the hub names it and does not start', async () => {
  const redirecting = await serveTls(trusted, (req, res) => {
    res.writeHead(302, { location: `https://127.0.0.1:${idp.port}/moved.json` });
    res.end();
  });
  try {
    await assert.rejects(startHub({
      keys: false,
      args: ['--api-key', API_KEY, '--jwt-jwks', `https://127.0.0.1:${redirecting.port}/old.json`, '--jwt-jwks-ca', trusted.cert],
    }), /exited \(2\)[^]*answered 302 \(redirects are not followed; set --jwt-jwks to the final URL, Location: https:\/\/127\.0\.0\.1:\d+\/moved\.json\)/);
    // A path only the redirect names: the suite's own hub may fetch /jwks.json meanwhile.
    assert.deepEqual(idp.seen.filter((r) => r.path === '/moved.json'), [], 'the Location was not fetched');
  } finally {
    redirecting.close();
  }
});

test('a server that accepts but never completes the TLS handshake fails the fetch at its deadline', async () => {
  const silent = createTcpServer(() => {});  // holds every connection, says nothing
  const held = [];
  silent.on('connection', (socket) => held.push(socket));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  try {
    await assert.rejects(startHub({
      keys: false,
      args: ['--api-key', API_KEY, '--jwt-jwks', `https://127.0.0.1:${silent.address().port}/jwks.json`, '--jwt-jwks-ca', trusted.cert],
    }), /exited \(2\)[^]*TLS handshake with 127\.0\.0\.1:\d+ failed: .*timeout/);
    assert.equal(held.length, 1, 'the hub did connect');
  } finally {
    for (const socket of held) socket.destroy();
    silent.close();
  }
});

test('--jwt-jwks-ca needs an https --jwt-jwks, and a CA file that exists', async () => {
  await assert.rejects(startHub({
    keys: false,
    args: ['--api-key', API_KEY, '--jwt-jwks', `http://127.0.0.1:${idp.port}/jwks.json`, '--jwt-jwks-ca', trusted.cert],
  }), /exited \(2\)[^]*--jwt-jwks-ca: applies only to an https:\/\/ --jwt-jwks/);
  await assert.rejects(startHub({
    keys: false,
    args: ['--api-key', API_KEY, '--jwt-jwks', `https://127.0.0.1:${idp.port}/jwks.json`, '--jwt-jwks-ca', join(dir, 'missing.pem')],
  }), /exited \(2\)[^]*--jwt-jwks-ca.*missing\.pem/);
});
