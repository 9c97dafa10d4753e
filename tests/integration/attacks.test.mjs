// The connection layer under attack, through the real binary: each test is one defect of the
// connection-layer issue as measured on 6687268 (where each of these failed).
import { test } from 'node:test';
import { io } from 'socket.io-client';
import assert from 'node:assert/strict';
import { startHub, seedClient, connected, token, emit, metrics, nextEvent, eventually, sleep, SLOW } from './lib/hub.mjs';
import { rawConnect, text, ping, frame, writeOrStall, parseFrames, closeCode, rssKiB } from './lib/raw_ws.mjs';

const MiB = 1024 * 1024;
// Sanitizer builds keep freed memory in quarantine: RSS bounds only hold for plain builds.
const CHECK_RSS = !process.env.NUDGE_SANITIZED;

async function authenticate(client, sub) {
  client.socket.write(text(`40${JSON.stringify({ token: token(sub) })}`));
  await eventually(() => client.received.includes('40{"sid"'));
}

// Floods from a client that never reads: the hub stops reading from it at the high watermark,
// its memory stays under the send-queue limit, and it is dropped as a slow consumer.
async function floodFromANonReader(message, { authenticated = false } = {}) {
  const maxQueue = 4 * MiB;
  const hub = await startHub({
    args: ['--max-send-queue', String(maxQueue), '--send-queue-high-watermark', String(256 * 1024),
      '--slow-consumer-timeout', '1000', '--close-timeout', '1000'],
  });
  try {
    const victim = seedClient(hub.url, token('victim'));
    await connected(victim);
    const rssBefore = rssKiB(hub.child.pid);
    const attacker = await rawConnect(hub.url);
    if (authenticated) await authenticate(attacker, 'attacker');
    attacker.socket.pause(); // never reads again
    const chunk = Buffer.concat(Array.from({ length: 4096 }, () => message));
    let sent = 0;
    while (sent < 512 * MiB) {
      // The hub stopped reading (a sanitized hub reads slowly: give it longer to take a chunk).
      if (!(await writeOrStall(attacker.socket, chunk, 1000 * SLOW))) break;
      sent += chunk.length;
    }
    const rssAfter = rssKiB(hub.child.pid);
    assert.ok(sent < 256 * MiB, `the hub kept reading (${sent} bytes taken)`);
    await eventually(async () => (await metrics(hub)).nudge_slow_consumer_drops_total >= 1);
    await eventually(async () => (await metrics(hub)).nudge_connections === 1);
    if (CHECK_RSS) {
      assert.ok((rssAfter - rssBefore) * 1024 < 2 * maxQueue,
        `RSS grew by ${rssAfter - rssBefore} KiB for one attacker (limit 2 × ${maxQueue} bytes)`);
    }
    // Everyone else is served throughout.
    const got = nextEvent(victim, 'balance_updated');
    assert.equal((await emit(hub, { room: 'user_victim', event: 'balance_updated', data: { ok: 1 } })).status, 202);
    assert.deepEqual(await got, [{ ok: 1 }]);
    victim.close();
    attacker.socket.destroy();
  } finally {
    await hub.stop();
  }
}

test('a WebSocket ping flood from a client that never reads is bounded and dropped', async () => {
  await floodFromANonReader(ping('0123456789'));
});

test('an Engine.IO ping flood from a client that never reads is bounded and dropped', async () => {
  await floodFromANonReader(text('2'));
});

test('an ack flood from a client that never reads is bounded and dropped', async () => {
  await floodFromANonReader(text('421["x"]'), { authenticated: true });
});

// Unfinished fragmented messages: 16 KiB until a client authenticates, and a process-wide
// budget after (on 6687268, 1,000 such clients took 965 MiB).
test('1,000 unauthenticated clients with unfinished fragmented messages hold little memory', async () => {
  const hub = await startHub({ args: ['--max-send-queue', String(MiB)] });
  const clients = [];
  try {
    const rssBefore = rssKiB(hub.child.pid);
    const piece = Buffer.alloc(60 * 1024, 'a');
    for (let i = 0; i < 1000; i++) {
      const c = await rawConnect(hub.url, { localAddress: `127.0.0.${2 + (i % 40)}` });
      clients.push(c);
      c.socket.write(text(piece, { fin: false }));
      for (let k = 0; k < 15 && !c.ended; k++) c.socket.write(frame(0x0, piece, { fin: false }));
    }
    await sleep(300 * SLOW);
    const rssAfter = rssKiB(hub.child.pid);
    if (CHECK_RSS) assert.ok((rssAfter - rssBefore) < 64 * 1024, `RSS grew by ${rssAfter - rssBefore} KiB`);
    const m = await metrics(hub);
    assert.ok(m['nudge_disconnects_total{reason="payload_too_large"}'] >= 990, JSON.stringify(m));
  } finally {
    for (const c of clients) c.socket.destroy();
    await hub.stop();
  }
});

test('authenticated clients share one budget for unfinished messages; past it the newest is closed', async () => {
  const hub = await startHub({ args: ['--max-partial-bytes', String(8 * MiB)] });
  const clients = [];
  try {
    const rssBefore = rssKiB(hub.child.pid);
    const piece = Buffer.alloc(64 * 1024, 'b');
    for (let i = 0; i < 40; i++) {
      const c = await rawConnect(hub.url);
      clients.push(c);
      await authenticate(c, `p${i}`);
      c.socket.write(text(piece, { fin: false }));
      for (let k = 0; k < 14; k++) c.socket.write(frame(0x0, piece, { fin: false })); // ~960 KB
    }
    await eventually(async () => (await metrics(hub)).nudge_partial_budget_closes_total >= 25);
    const rssAfter = rssKiB(hub.child.pid);
    if (CHECK_RSS) assert.ok((rssAfter - rssBefore) < 64 * 1024, `RSS grew by ${rssAfter - rssBefore} KiB`);
    // The ones under the budget keep their connection and can finish their message.
    const survivor = clients[0];
    assert.ok(!survivor.ended);
    survivor.socket.write(frame(0x0, Buffer.from('"]'), { fin: true }));
  } finally {
    for (const c of clients) c.socket.destroy();
    await hub.stop();
  }
});

test('a slow consumer receives every frame it was sent whole, then a complete close 1008', async () => {
  const hub = await startHub({
    args: ['--max-send-queue', String(256 * 1024), '--slow-consumer-timeout', '60000', '--max-body', String(4 * MiB)],
  });
  try {
    const client = await rawConnect(hub.url);
    await authenticate(client, 'slow');
    client.socket.pause();
    const data = 'x'.repeat(50 * 1024);
    for (let i = 0; i < 40; i++) {
      if ((await metrics(hub)).nudge_slow_consumer_drops_total >= 1) break;
      const events = Array.from({ length: 40 }, () => ({ room: 'user_slow', event: 'big', data }));
      assert.equal((await emit(hub, { events })).status, 202);
    }
    await eventually(async () => (await metrics(hub)).nudge_slow_consumer_drops_total >= 1);
    client.socket.resume();
    await eventually(() => client.ended || client.closed, { timeoutMs: 20000 * SLOW });
    const [frames, rest] = parseFrames(client.received);
    assert.equal(rest.length, 0, `a frame was cut: ${rest.length} bytes left over`);
    const last = frames.at(-1);
    assert.equal(last.opcode, 0x8);
    assert.equal(closeCode(last), 1008);
    assert.equal(last.payload.subarray(2).toString(), 'slow consumer');
    for (const f of frames.slice(2, -1)) assert.equal(f.payload.length, data.length + 12);
  } finally {
    await hub.stop();
  }
});

test('a second hub on a port already served exits non-zero with a clear message', async () => {
  const first = await startHub();
  try {
    await assert.rejects(startHub({ port: first.port }), (err) => {
      assert.match(err.message, /nudged exited \(1\) before listening/);
      assert.match(err.message, /already in use|in use/);
      assert.match(err.message, /often a nudged from `make run` or `make demo` still running.*choose another port with --port/);
      return true;
    });
    const sockets = [];
    for (let i = 0; i < 4; i++) {
      const s = seedClient(first.url, token('1'));
      sockets.push(s);
      await connected(s);
    }
    const all = sockets.map((s) => nextEvent(s, 'balance_updated'));
    assert.equal((await emit(first, { room: 'user_1', event: 'balance_updated' })).status, 202);
    await Promise.all(all); // every tab of the user gets it: nobody is split off to another process
    for (const s of sockets) s.close();
  } finally {
    await first.stop();
  }
});

test('--max-connections-per-ip refuses the connection past the limit, counts it, and frees slots on close', async () => {
  const hub = await startHub({ args: ['--max-connections-per-ip', '2'] });
  // The clients come from 127.0.0.5; the test's own API calls from 127.0.0.1 stay under the limit.
  const from5 = (sub) => io(hub.url, { auth: { token: token(sub) }, transports: ['websocket'], reconnection: false, localAddress: '127.0.0.5' });
  const sockets = [];
  try {
    const a = from5('a');
    const b = from5('b');
    sockets.push(a, b);
    await connected(a);
    await connected(b);
    const c = from5('c');
    sockets.push(c);
    await assert.rejects(connected(c));
    assert.ok((await metrics(hub)).nudge_connections_refused_per_ip_total >= 1);
    const other = await rawConnect(hub.url, { localAddress: '127.0.0.7' }); // another address
    other.socket.destroy();
    a.close();
    // a's slot comes back once its TCP connection has closed, after the close handshake.
    await eventually(async () => {
      const d = from5('d');
      sockets.push(d);
      return connected(d).then(() => true, () => false);
    });
  } finally {
    for (const s of sockets) s.close();
    await hub.stop();
  }
});

// Not under the sanitizers: UBSan's vptr check validates memory through a pipe, which needs two
// descriptors, so with none left it aborts the hub on a false "invalid vptr" (builds use
// -fno-sanitize-recover). The release build runs it in `make test`.
test('out of file descriptors: accept errors are logged at most once per period, and the hub recovers',
  { skip: process.env.NUDGE_SANITIZED ? 'UBSan needs file descriptors of its own' : false }, async () => {
  // 40 descriptors: a few for the process itself, the rest for clients.
  const hub = await startHub({ args: ['--threads', '2'], wrapper: ['prlimit', '--nofile=40:40'] });
  const clients = [];
  try {
    for (let i = 0; i < 60; i++) {
      clients.push(io(hub.url, { auth: { token: token(`fd${i}`) }, transports: ['websocket'], reconnection: false }));
    }
    // While starved the hub cannot even accept a metrics request: read its log instead.
    await eventually(() => hub.output().includes('accept failed'));
    await sleep(1500);
    const lines = hub.output().split('\n').filter((l) => l.includes('accept failed'));
    // One line per worker per 10 s (each worker retries accept every 100 ms: 15 tries each).
    assert.ok(lines.length >= 1 && lines.length <= 2, `${lines.length} accept-failure lines in 1.5 s of EMFILE`);
    for (const c of clients) c.close();
    // Descriptors come back as the hub finishes each close: until then a request may be refused.
    const metricsOrNull = () => metrics(hub).catch(() => null);
    await eventually(async () => (await metricsOrNull())?.nudge_connections === 0);
    assert.ok((await metrics(hub)).nudge_accept_errors_total >= 5);
    const late = seedClient(hub.url, token('late'));
    await connected(late);
    late.close();
  } finally {
    for (const c of clients) c.close();
    await hub.stop();
  }
});
