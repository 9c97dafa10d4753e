// The bank's REST API is the same on both backends: one scripted session — logins, every read,
// every action and every kind of refusal — runs against the Node and the Django backend. Each
// answer must have the status the script expects, and the two backends' answers (status,
// content type, JSON with times and tokens masked) and the events alice's and bob's sockets
// receive from the hub must be identical. Refused actions (a rolled-back transaction) send
// nothing; bob, who does nothing, receives nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startHub,
  seedClient,
  connected,
  eventually,
  sleep,
  mintToken,
  SECRET,
  API_KEY,
} from '../../../tests/integration/lib/hub.mjs';
import { BACKENDS, startBackend } from './browser.mjs';

let hub;
let staticDir;

before(async () => {
  hub = await startHub();
  // A stand-in for the built front end: the demo test serves the real one.
  staticDir = mkdtempSync(join(tmpdir(), 'nudge-bank-api-'));
  mkdirSync(join(staticDir, 'assets'));
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><div id="root"></div>\n');
  writeFileSync(join(staticDir, 'assets', 'app-1234.js'), 'console.log("bank")\n');
});

after(async () => {
  await hub?.stop();
  if (staticDir) rmSync(staticDir, { recursive: true, force: true });
});

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

// Times differ from run to run and tokens with them: masked after checking their form.
function mask(value) {
  if (Array.isArray(value)) return value.map(mask);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => {
        if (key === 'token' && JWT.test(inner)) return [key, '<jwt>'];
        if (key === 'timestamp' && Number.isInteger(inner) && Math.abs(inner - Date.now()) < 600_000)
          return [key, '<now ms>'];
        return [key, mask(inner)];
      }),
    );
  }
  return typeof value === 'string' && ISO_TIME.test(value) ? '<time>' : value;
}

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

// The session: [method, path, body (object, or a string sent as is), who, expected status].
// `who` is 'alice' (her token from the login step), 'none', or an Authorization header value.
const big = JSON.stringify({ username: 'x'.repeat(17 * 1024) });
function script() {
  const expired = mintToken({ secret: SECRET, sub: '1', ttl: -60 });
  const forged = mintToken({ secret: 'not-the-hub-secret', sub: '1' });
  const stranger = mintToken({ secret: SECRET, sub: '77' }); // the hub's token, not a customer
  return [
    ['GET', '/api/config', undefined, 'none', 200],
    ['POST', '/api/login', 'not json', 'none', 400],
    ['POST', '/api/login', '[1]', 'none', 400],
    ['POST', '/api/login', big, 'none', 413],
    ['POST', '/api/login', { username: 'alice', password: 'nope' }, 'none', 401],
    ['POST', '/api/login', { username: 'nobody', password: 'x' }, 'none', 401],
    ['POST', '/api/login', { username: 42, password: 'wonderland' }, 'none', 401],
    ['POST', '/api/login', { username: ' Alice ', password: 'wonderland' }, 'none', 200],
    ['GET', '/api/balance', undefined, 'none', 401],
    ['GET', '/api/balance', undefined, 'Bearer nonsense', 401],
    ['GET', '/api/balance', undefined, `Bearer ${expired}`, 401],
    ['GET', '/api/balance', undefined, `Bearer ${forged}`, 401],
    ['GET', '/api/balance', undefined, `Bearer ${stranger}`, 401],
    ['GET', '/api/balance', undefined, 'alice', 200],
    ['GET', '/api/transactions', undefined, 'alice', 200],
    ['GET', '/api/loans', undefined, 'alice', 200],
    ['GET', '/api/loans/summary', undefined, 'alice', 200],
    ['GET', '/api/profile', undefined, 'alice', 200],
    ['GET', '/api/simulate', undefined, 'alice', 200],
    // Payments.
    ['POST', '/api/payments', { payee: ' ', amountCents: 100 }, 'alice', 400],
    ['POST', '/api/payments', { payee: 'x'.repeat(61), amountCents: 100 }, 'alice', 400],
    ['POST', '/api/payments', { payee: 'Shop', amountCents: 1.5 }, 'alice', 400],
    ['POST', '/api/payments', { payee: 'Shop', amountCents: '100' }, 'alice', 400],
    ['POST', '/api/payments', { payee: 'Shop', amountCents: true }, 'alice', 400],
    ['POST', '/api/payments', { payee: 'Shop', amountCents: 0 }, 'alice', 400],
    ['POST', '/api/payments', { payee: 'Shop', amountCents: 100_000_01 }, 'alice', 400],
    ['POST', '/api/payments', { payee: 'Shop', amountCents: 100_000_00 }, 'alice', 422],
    ['POST', '/api/payments', { payee: ' Corner Bakery ', amountCents: 12_34 }, 'alice', 201],
    ['GET', '/api/balance', undefined, 'alice', 200],
    ['GET', '/api/transactions', undefined, 'alice', 200],
    // Loans: alice has 1 (approved) and 2 (pending); 3 is bob's.
    ['POST', '/api/loans/99/status', { status: 'approved' }, 'alice', 404],
    ['POST', '/api/loans/3/status', { status: 'approved' }, 'alice', 404],
    ['POST', '/api/loans/99999999999999999999/status', { status: 'approved' }, 'alice', 404],
    ['POST', '/api/loans/2/status', { status: 'paid' }, 'alice', 400],
    ['POST', '/api/loans/2/status', {}, 'alice', 400],
    ['POST', '/api/loans/2/status', { status: 'approved' }, 'alice', 200],
    ['POST', '/api/loans/2/status', { status: 'rejected' }, 'alice', 409],
    ['POST', '/api/loans/1/status', { status: 'repaid' }, 'alice', 422], // $12,000 > her balance
    ['GET', '/api/loans', undefined, 'alice', 200],
    ['GET', '/api/loans/summary', undefined, 'alice', 200],
    ['GET', '/api/balance', undefined, 'alice', 200],
    ['GET', '/api/transactions', undefined, 'alice', 200],
    // Profile.
    ['PATCH', '/api/profile', {}, 'alice', 400],
    ['PATCH', '/api/profile', { nickname: 'Al' }, 'alice', 400],
    ['PATCH', '/api/profile', { email: 'not-an-email' }, 'alice', 400],
    ['PATCH', '/api/profile', { email: 'a@b\n' }, 'alice', 400],
    ['PATCH', '/api/profile', { name: '   ' }, 'alice', 400],
    ['PATCH', '/api/profile', { phone: 5550199 }, 'alice', 400],
    ['PATCH', '/api/profile', { name: ' Alice M. Martin ', phone: '+1 555 0199' }, 'alice', 200],
    ['GET', '/api/profile', undefined, 'alice', 200],
    // The simulation switch (not switched on: its activity is random).
    ['POST', '/api/simulate', { on: 'yes' }, 'alice', 400],
    ['POST', '/api/simulate', { on: false }, 'alice', 200],
    // Neither an API route nor a file.
    ['GET', '/api/nope', undefined, 'alice', 404],
    ['GET', '/api/balance/', undefined, 'alice', 404],
    ['DELETE', '/api/balance', undefined, 'alice', 404],
    ['POST', '/api/config', undefined, 'none', 404],
    ['GET', '/', undefined, 'none', 200],
    ['GET', '/some/client/route', undefined, 'none', 200],
    ['GET', '/assets/app-1234.js', undefined, 'none', 200],
    ['GET', '/assets/missing.js', undefined, 'none', 200], // index.html, as for any route
    ['POST', '/', undefined, 'none', 404],
  ];
}

// What alice's sockets must receive, in order, for the script above.
const ALICE_EVENTS = [
  ['transaction_happened', { timestamp: '<now ms>' }],
  ['loan_status_changed', { loanId: 2, status: 'approved' }],
  ['transaction_happened', { timestamp: '<now ms>' }],
  ['profile_updated', {}],
];

async function session(backend) {
  const logs = [];
  const bank = await startBackend(backend, {
    port: 0,
    hubUrl: hub.url,
    apiKey: API_KEY,
    jwtSecret: SECRET,
    staticDir,
    log: (line) => logs.push(line),
  });
  const sockets = [];
  const events = { alice: [], bob: [] };
  const listen = async (who, jwt) => {
    const socket = seedClient(hub.url, jwt);
    sockets.push(socket);
    socket.onAny((name, ...args) => events[who].push([name, ...args]));
    await connected(socket);
  };
  const transcript = [];
  try {
    // Bob's socket is there all along; alice's joins with the token her login returns.
    const bobLogin = await fetch(`${bank.url}/api/login`, {
      method: 'POST',
      body: JSON.stringify({ username: 'bob', password: 'builder' }),
    });
    await listen('bob', (await bobLogin.json()).token);
    let aliceToken;
    for (const [method, path, body, who, expected] of script()) {
      const headers = {};
      if (who === 'alice') headers.authorization = `Bearer ${aliceToken}`;
      else if (who !== 'none') headers.authorization = who;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${bank.url}${path}`, {
        method,
        headers,
        body: typeof body === 'string' || body === undefined ? body : JSON.stringify(body),
      });
      const type = response.headers.get('content-type');
      const text = await response.text();
      const step = `${backend}: ${method} ${path} ${JSON.stringify(body)?.slice(0, 60)}`;
      assert.equal(response.status, expected, `${step} answered ${response.status}: ${text}`);
      const json = type === 'application/json' ? JSON.parse(text) : undefined;
      if (path === '/api/login' && response.status === 200) {
        aliceToken = json.token;
        assert.equal(claims(aliceToken).sub, '1', 'the token names the customer: room user_1');
        await listen('alice', aliceToken);
      }
      if (response.status >= 400 && json) assert.equal(typeof json.error, 'string', step);
      transcript.push({
        step: `${method} ${path}`,
        status: response.status,
        type,
        cache: response.headers.get('cache-control'),
        body: json === undefined ? text : mask(json),
      });
    }
    await eventually(() => events.alice.length >= ALICE_EVENTS.length);
    await sleep(300); // anything more would be an extra (or a refused action's) event
    return { transcript, events: mask(events), logs };
  } finally {
    for (const socket of sockets) socket.disconnect();
    await bank.close();
  }
}

const runs = {};
for (const backend of BACKENDS) {
  test(`${backend} backend: every answer as scripted; alice gets exactly her events, bob none`, async () => {
    const run = (runs[backend] = await session(backend));
    assert.deepEqual(run.events, { alice: ALICE_EVENTS, bob: [] });
    assert.deepEqual(run.logs, [], 'nothing logged: no error, no undelivered event');
  });
}

const [first, ...others] = BACKENDS;
for (const other of others) {
  test(`${other} answers as ${first} does: same statuses, types, caching and JSON`, () => {
    assert.ok(runs[first] && runs[other], 'both sessions ran');
    assert.equal(runs[other].transcript.length, runs[first].transcript.length);
    runs[first].transcript.forEach((expected, i) => {
      assert.deepEqual(runs[other].transcript[i], expected, `step ${i + 1}`);
    });
  });
}
