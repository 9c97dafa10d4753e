// The C++ `nudge` command line against the real hub and the real socket.io-client.
// Run: node --test clients/cpp/tests/   (NUDGE_CLI and NUDGED_BIN override the binaries,
// default build/nudge and build/nudged).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  startHub, seedClient, token, connected, nextEvent, API_KEY, SECRET,
} from '../../../tests/integration/lib/hub.mjs';

const NUDGE_CLI =
  process.env.NUDGE_CLI ?? fileURLToPath(new URL('../../../build/nudge', import.meta.url));
const MAX_BODY = 4096;

let hub;
const sockets = [];
before(async () => { hub = await startHub({ args: ['--max-body', String(MAX_BODY)] }); });
after(async () => {
  for (const socket of sockets) socket.disconnect();
  await hub.stop();
});

// Runs the CLI with a clean NUDGE_* environment plus `env`; resolves with its exit code and output.
function nudge(args, env = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('NUDGE_')));
  const child = spawn(NUDGE_CLI, args, { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function client(authToken) {
  const socket = seedClient(hub.url, authToken);
  sockets.push(socket);
  return connected(socket);
}

// Collects every `event` a socket receives.
function record(socket, event) {
  const got = [];
  socket.on(event, (...args) => got.push(args));
  return got;
}

// Events to one socket arrive in publish order, so once `marker`, published last, has
// arrived, anything published before it for that socket has arrived too.
async function drain(socket, room) {
  const arrived = nextEvent(socket, 'marker');
  const result = await nudge(['emit', '--url', hub.url, '--api-key', API_KEY, '--room', room, 'marker']);
  assert.equal(result.code, 0, result.stderr);
  await arrived;
}

test('the issue example reaches user 1 with its data and not user 2', async () => {
  const user1 = await client(token('1'));
  const user2 = await client(token('2'));
  const user2Got = record(user2, 'balance_updated');

  const received = nextEvent(user1, 'balance_updated');
  const result = await nudge(['emit', '--url', hub.url, '--api-key', API_KEY,
    '--room', 'user_1', 'balance_updated', '{"x":1}']);
  assert.deepEqual(result, { code: 0, stdout: 'accepted 1\n', stderr: '' });
  assert.deepEqual(await received, [{ x: 1 }]);

  await drain(user2, 'user_2');
  assert.deepEqual(user2Got, []);
});

test('NUDGE_URL and NUDGE_API_KEY fill the flags; --rooms and --except pick recipients', async () => {
  const user3 = await client(token('3'));
  const user4 = await client(token('4'));
  const user4Got = record(user4, 'loan_status_changed');

  const received = nextEvent(user3, 'loan_status_changed');
  const result = await nudge(
    ['emit', '--rooms', 'user_3,user_4', '--except', 'user_4', 'loan_status_changed'],
    { NUDGE_URL: hub.url, NUDGE_API_KEY: API_KEY },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, 'accepted 1\n');
  assert.deepEqual(await received, [], 'no DATA_JSON: the handler gets no argument');

  await drain(user4, 'user_4');
  assert.deepEqual(user4Got, []);
});

test('a wrong API key exits 4 naming the 401', async () => {
  const result = await nudge(['emit', '--url', hub.url, '--api-key', 'wrong', '--room', 'user_1', 'e']);
  assert.equal(result.code, 4);
  assert.equal(result.stdout, '');
  assert.match(result.stderr,
    /^nudge: the hub at http:\/\/127\.0\.0\.1:\d+ refused the API key \(401 unauthorized\): /);
});

test('a reserved event name exits 4 with the hub\'s code and message', async () => {
  const result = await nudge(['emit', '--url', hub.url, '--api-key', API_KEY, '--room', 'user_1', 'connect']);
  assert.equal(result.code, 4);
  assert.match(result.stderr,
    /rejected the request \(400 reserved_event\): event: "connect" is reserved by Socket\.IO/);
});

test('a body over --max-body exits 4 naming the 413', async () => {
  const data = JSON.stringify({ blob: 'x'.repeat(MAX_BODY) });
  const result = await nudge(['emit', '--url', hub.url, '--api-key', API_KEY, '--room', 'user_1', 'e', data]);
  assert.equal(result.code, 4);
  assert.match(result.stderr, /refused the request as too large \(413 payload_too_large\)/);
});

test('a hub that is down exits 3 with the system error', async () => {
  const gone = await startHub();
  await gone.stop();
  const result = await nudge(['emit', '--url', gone.url, '--api-key', API_KEY, '--retries', '1',
    '--room', 'user_1', 'e']);
  assert.equal(result.code, 3);
  assert.equal(result.stderr,
    `nudge: cannot reach the hub at ${gone.url}: connect: Connection refused\n` +
    'nudge: retrying at most 1 more time within 30 s (--retries N, --retry-budget SECONDS); Ctrl-C stops\n' +
    `nudge: cannot reach the hub at ${gone.url}: connect: Connection refused (after 2 attempts)\n`);
});

test('usage errors exit 2 before anything is sent', async () => {
  const noRoom = await nudge(['emit', '--url', hub.url, '--api-key', API_KEY, 'e']);
  assert.equal(noRoom.code, 2);
  assert.match(noRoom.stderr, /give at least one room/);
  const badJson = await nudge(['emit', '--url', hub.url, '--api-key', API_KEY, '--room', 'a', 'e', '{x:1}']);
  assert.equal(badJson.code, 2);
  assert.match(badJson.stderr, /DATA_JSON: data is not valid JSON/);
});

test('a token from `nudge token` is accepted by the hub with its rooms', async () => {
  const minted = await nudge(['token', '--sub', '77', '--rooms', 'team_7'], { NUDGE_JWT_SECRET: SECRET });
  assert.equal(minted.code, 0, minted.stderr);
  assert.match(minted.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  const member = await client(minted.stdout.trim());

  const own = nextEvent(member, 'own');
  assert.equal((await nudge(['emit', '--url', hub.url, '--api-key', API_KEY, '--room', 'user_77', 'own'])).code, 0);
  assert.deepEqual(await own, []);
  const team = nextEvent(member, 'team');
  assert.equal((await nudge(['emit', '--url', hub.url, '--api-key', API_KEY, '--room', 'team_7', 'team', '7'])).code, 0);
  assert.deepEqual(await team, [7]);
});

test('nudge rooms: the sockets of a user join, leave, and are disconnected', async () => {
  const tab1 = await client(token('31'));
  const tab2 = await client(token('31'));
  const other = await client(token('32'));
  const otherGot = record(other, 'board_updated');
  const base = ['rooms', '--url', hub.url, '--api-key', API_KEY, '--room', 'user_31'];

  assert.deepEqual(await nudge([...base, 'join', 'team_7', 'team_8']),
    { code: 0, stdout: 'accepted join\n', stderr: '' });
  const both = [nextEvent(tab1, 'board_updated'), nextEvent(tab2, 'board_updated')];
  assert.equal((await nudge(['emit', '--url', hub.url, '--api-key', API_KEY, '--room', 'team_8',
    'board_updated', '{"id":8}'])).code, 0);
  assert.deepEqual(await Promise.all(both), [[{ id: 8 }], [{ id: 8 }]]);

  assert.equal((await nudge([...base, 'leave', 'team_8'])).code, 0);
  const tab1Got = record(tab1, 'board_updated');
  assert.equal((await nudge(['emit', '--url', hub.url, '--api-key', API_KEY, '--room', 'team_8',
    'board_updated'])).code, 0);
  await drain(tab1, 'user_31');
  assert.deepEqual(tab1Got, []);

  const closed = [nextEvent(tab1, 'disconnect'), nextEvent(tab2, 'disconnect')];
  assert.equal((await nudge([...base, 'disconnect'])).code, 0);
  assert.deepEqual((await Promise.all(closed)).map(([reason]) => reason),
    ['io server disconnect', 'io server disconnect']);
  await drain(other, 'user_32');
  assert.deepEqual(otherGot, []);

  const usage = await nudge([...base, 'join']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /join needs the ROOMS/);
  const refused = await nudge([...base, 'join', 'x'.repeat(300)]);
  assert.equal(refused.code, 4);
  assert.match(refused.stderr, /longer than 256 bytes/);
});

// In front of the real hub: the first `failures` requests get the hub's 503 broker_unavailable
// (as from a hub whose Redis is down; Retry-After: 0, so the CLI's waits start at 500 ms and
// the test stays short), the next ones are forwarded to the hub. Records every body.
async function brokerDownProxy(failures) {
  const bodies = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString();
      bodies.push(JSON.parse(body));
      if (bodies.length <= failures) {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' });
        res.end(JSON.stringify({ error: { code: 'broker_unavailable', message: 'the message broker is unreachable' } }));
        return;
      }
      const answer = await fetch(hub.url + req.url, {
        method: 'POST', body, headers: { authorization: req.headers.authorization, 'content-type': 'application/json' },
      });
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(await answer.text());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    bodies,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

test('503 broker_unavailable is retried with the same id by default: one delivery', async () => {
  const member = await client(token('41'));
  const got = record(member, 'retried');
  const proxy = await brokerDownProxy(2);
  try {
    const result = await nudge(['emit', '--url', proxy.url, '--api-key', API_KEY, '--room', 'user_41', 'retried', '1']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'accepted 1\n');
    assert.equal(proxy.bodies.length, 3);
    assert.match(proxy.bodies[0].id, /^[0-9a-f]{32}$/);
    assert.deepEqual(new Set(proxy.bodies.map((b) => b.id)), new Set([proxy.bodies[0].id]));
  } finally {
    await proxy.close();
  }
  await drain(member, 'user_41');
  assert.deepEqual(got, [[1]], 'delivered once');
});

test('--retry-budget 0: a 503 is not retried and exits 3 naming the code', async () => {
  const proxy = await brokerDownProxy(10);
  try {
    const result = await nudge(['emit', '--url', proxy.url, '--api-key', API_KEY, '--retry-budget', '0',
      '--room', 'user_41', 'e']);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /is unavailable \(503 broker_unavailable\): the message broker is unreachable\n$/);
    assert.equal(proxy.bodies.length, 1);
  } finally {
    await proxy.close();
  }
});

// A hub that is down: nudge says so at once, with how long it keeps trying (the default 30 s
// retry budget), while it is still retrying.
test('a hub that is down: says at once that it is retrying, and for how long', async () => {
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const url = `http://127.0.0.1:${closed.address().port}`;
  closed.close();
  await once(closed, 'close');
  const child = spawn(NUDGE_CLI, ['emit', '--url', url, '--api-key', API_KEY, '--room', 'a', 'e'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  try {
    await new Promise((resolve, reject) => {
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        if (/retrying for up to 30 s.*\n/.test(stderr)) resolve();  // the whole line
      });
      exited.then(() => reject(new Error(`nudge exited before saying it retries:\n${stderr}`)));
    });
    assert.match(stderr, new RegExp(`^nudge: cannot reach the hub at ${url.replace(/\./g, '\\.')}: connect: .*\nnudge: retrying for up to 30 s \\(--retry-budget SECONDS, 0: do not retry\\); Ctrl-C stops\n$`));
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal((await exited).signal, 'SIGTERM', 'still retrying when it said so');
});

test('mistyped commands and flags name their near miss; --version', async () => {
  const command = await nudge(['emitt', '--room', 'a', 'e']);
  assert.equal(command.code, 2);
  assert.match(command.stderr, /^nudge: unknown command 'emitt' \(did you mean 'emit'\?\)/);
  const flag = await nudge(['emit', '--url', hub.url, '--apikey', API_KEY, '--room', 'a', 'e']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /^nudge: unknown flag --apikey for 'nudge emit' \(did you mean --api-key\?\)/);
  const version = await nudge(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^nudge \d+\.\d+\.\d+\n$/);
});
