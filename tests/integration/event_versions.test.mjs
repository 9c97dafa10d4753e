// Event versions and spread end to end (issues 22 and 23): the Python emitter, the C++ CLI
// (`nudge emit --event-version --spread`) and the HTTP API publish to hub A; a socket.io-client
// that opted in with `auth: { nudge: 1 }` receives the metadata argument
// {"$nudge":{"v":…,"s":…}} after the data — on hub A itself (the embedded broker's history and
// replay) and on hub B, which shares A's Redis (so the version and spread crossed the Redis
// message codec). A plain client on the same room gets exactly what it got before. The embedded
// broker's history keeps both: a nudge client that missed events during a blip gets them
// replayed with their metadata. A bad version or spread is a 400 naming the field, and the
// emitters refuse it before sending.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import {
  startHub, seedClient, token, connected, emit, nextEvent, SLOW, API_KEY, untimed,
} from './lib/hub.mjs';
import { startRedis } from './lib/redis.mjs';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const NUDGE_CLI = process.env.NUDGE_CLI ?? `${REPO}build/nudge`;

// A client that understands nudge's metadata (what @nudge/query-core sends).
function nudgeClient(url, sub) {
  return io(url, { auth: { token: token(sub), nudge: 1 }, transports: ['websocket'], reconnection: false });
}

const META = (v, s) => ({ $nudge: { ...(v === undefined ? {} : { v }), ...(s ? { s } : {}) } });
const isMeta = (arg) => arg !== null && typeof arg === 'object' && '$nudge' in arg;

async function python(url, code) {
  const script = `import sys\nfrom nudge import Nudge\nhub = Nudge(sys.argv[1], sys.argv[2])\n${code}\n`;
  return run('/usr/bin/python3', ['-c', script, url, API_KEY],
    { env: { ...process.env, PYTHONPATH: `${REPO}clients/python` }, timeout: 30000 * SLOW });
}

async function cli(url, ...args) {
  return run(NUDGE_CLI, ['emit', '--url', url, '--api-key', API_KEY, ...args], { timeout: 30000 * SLOW });
}

describe('event versions and spread', () => {
  let redis;
  let A;
  let B;
  const sockets = [];
  before(async () => {
    redis = await startRedis();
    [A, B] = await Promise.all([
      startHub({ broker: redis.url, args: ['--recovery', 'auto'] }),
      startHub({ broker: redis.url, args: ['--recovery', 'auto'] }),
    ]);
  });
  after(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all([A?.stop(), B?.stop()]);
    await redis?.stop();
  });
  const open = async (socket) => {
    sockets.push(socket);
    return connected(socket);
  };

  test('each emitter\'s version and spread reach nudge clients on both hubs; plain clients see no change', async () => {
    const onA = await open(nudgeClient(A.url, 'v1'));
    const onB = await open(nudgeClient(B.url, 'v1'));
    const plain = await open(seedClient(B.url, token('v1')));
    const cases = [
      { event: 'from_python', meta: META('0/16B3748', 3000),
        publish: () => python(A.url, "hub.emit('user_v1', 'from_python', {'n': 1}, version='0/16b3748', spread=3000)") },
      { event: 'from_python_int', meta: META('42'),
        publish: () => python(A.url, "hub.emit_event('v1', 'from_python_int', {'n': 1}, version=42)") },
      { event: 'from_cpp', meta: META('18446744073709551615', 60000),
        publish: () => cli(A.url, '--room', 'user_v1', '--event-version', '18446744073709551615', '--spread', '60000', 'from_cpp', '{"n":1}') },
      { event: 'from_api', meta: META('0/1', 1),
        publish: () => emit(A, { room: 'user_v1', event: 'from_api', data: { n: 1 }, version: '00/0001', spread: 1 }) },
      { event: 'spread_only', meta: META(undefined, 500),
        publish: () => cli(A.url, '--room', 'user_v1', '--spread', '500', 'spread_only', '{"n":1}') },
    ];
    for (const { event, meta, publish } of cases) {
      const got = [nextEvent(onA, event, 10000 * SLOW), nextEvent(onB, event, 10000 * SLOW),
        nextEvent(plain, event, 10000 * SLOW)];
      await publish();
      const [a, b, p] = await Promise.all(got);
      for (const [where, args] of [['hub A', a], ['hub B (through Redis)', b]]) {
        assert.deepEqual(args[0], { n: 1 }, `${event} on ${where}`);
        assert.deepEqual(untimed(args.filter(isMeta)), [meta], `${event} on ${where}: ${JSON.stringify(args)}`);
        assert.equal(args.indexOf(args.find(isMeta)), 1, 'the metadata follows the data');
      }
      assert.deepEqual(p, [{ n: 1 }], `${event}: a plain client gets the data alone`);
    }
    // An event without either field carries no metadata argument.
    const got = nextEvent(onB, 'bare', 10000 * SLOW);
    await cli(A.url, '--room', 'user_v1', 'bare', '{"n":1}');
    assert.deepEqual((await got).filter(isMeta), []);
  });

  test('a bad version or spread: a 400 naming the field from the hub, a refusal naming it from each emitter', async () => {
    for (const [body, field] of [
      [{ room: 'a', event: 'e', version: -1 }, 'version'],
      [{ room: 'a', event: 'e', version: '0/1G' }, 'version'],
      [{ events: [{ room: 'a', event: 'e' }, { room: 'a', event: 'e', version: true }] }, 'events[1].version'],
      [{ room: 'a', event: 'e', spread: 60001 }, 'spread'],
    ]) {
      const answer = await emit(A, body);
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.json.error.code, 'invalid_field');
      assert.ok(answer.json.error.message.startsWith(field), answer.json.error.message);
    }
    await assert.rejects(python(A.url, "hub.emit('user_v1', 'e', version='0x10')"),
      (error) => /NudgeValidationError: version must be/.test(error.stderr));
    await assert.rejects(cli(A.url, '--room', 'user_v1', '--event-version', '0x10', 'e'),
      (error) => error.code === 2 && /--event-version: version must be/.test(error.stderr));
    await assert.rejects(cli(A.url, '--room', 'user_v1', '--spread', '60001', 'e'),
      (error) => error.code === 2 && /--spread must be/.test(error.stderr));
  });

  test('the embedded broker\'s history replays an event with its version and spread after a blip', async () => {
    const hub = await startHub({ args: ['--recovery', 'auto'] });
    const socket = nudgeClient(hub.url, 'blip');  // reconnection off: it comes back when told
    try {
      await connected(socket);
      const before = nextEvent(socket, 'seen', 10000 * SLOW);
      await emit(hub, { room: 'user_blip', event: 'seen', data: { n: 0 } });
      await before;  // the client has an offset to come back with
      const away = nextEvent(socket, 'disconnect', 10000 * SLOW);
      socket.io.engine.close();  // the connection drops
      await away;
      const answer = await emit(hub, { room: 'user_blip', event: 'missed', data: { n: 1 }, version: '0/2A', spread: 2500 });
      assert.equal(answer.status, 202, answer.text);
      const back = nextEvent(socket, 'connect', 10000 * SLOW);
      const missed = nextEvent(socket, 'missed', 10000 * SLOW);
      socket.connect();  // with its pid and offset: the missed event can only come from the history
      await back;
      assert.equal(socket.recovered, true);
      const args = await missed;
      assert.deepEqual(args[0], { n: 1 });
      assert.deepEqual(untimed(args.filter(isMeta)), [META('0/2A', 2500)], JSON.stringify(args));
    } finally {
      socket.close();
      await hub.stop();
    }
  });
});
