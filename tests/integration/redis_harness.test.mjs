// The Redis harness the scale-out suite relies on (lib/redis.mjs), checked on its own: a
// paused server really answers nothing, a restarted one is empty, the cluster has three
// masters covering every slot, and the proxy moves new connections while dropAll() cuts old ones.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { once } from 'node:events';
import { startRedis, startCluster, startProxy } from './lib/redis.mjs';
import { sleep } from './lib/hub.mjs';

const cleanup = [];
after(async () => {
  for (const stop of cleanup.reverse()) await stop();
});

// A raw RESP connection: send inline commands, read reply lines.
async function connection(port) {
  const socket = createConnection({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  let buffer = '';
  const waiting = [];
  const pump = () => {
    let end;
    while (waiting.length && (end = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      waiting.shift()(line);
    }
  };
  socket.on('data', (chunk) => { buffer += chunk; pump(); });
  const closed = new Promise((resolve) => socket.on('close', resolve));
  socket.on('error', () => {});
  const line = () => new Promise((resolve) => { waiting.push(resolve); pump(); });
  return {
    closed,
    line,
    send(command) {
      socket.write(`${command}\r\n`);
      return line();
    },
    close() { socket.destroy(); },
  };
}

test('startRedis: PING, pause answers nothing until resume, kill and restart empty on the same port', async () => {
  const redis = await startRedis();
  cleanup.push(() => redis.stop());
  assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(await redis.cli('ping'), 'PONG');
  assert.equal(await redis.cli('set', 'k', 'v'), 'OK');

  const conn = await connection(redis.port);
  redis.pause();
  let answered = false;
  const reply = conn.send('GET k').then((line) => { answered = true; return line; });
  await sleep(300);
  assert.equal(answered, false, 'a stopped server answers nothing');
  redis.resume();
  assert.equal(await reply, '$1');
  conn.close();

  await redis.kill();
  await assert.rejects(redis.cli('ping'));
  await redis.restart();
  assert.equal(await redis.cli('ping'), 'PONG');
  assert.equal(await redis.cli('exists', 'k'), '0', 'a restarted server is empty');
});

test('startCluster: three masters cover every slot; kill and restart keep the layout, not the data', async () => {
  const cluster = await startCluster();
  cleanup.push(() => cluster.stop());
  assert.equal(cluster.nodes.length, 3);
  assert.equal(new Set(cluster.nodes.map((n) => n.port)).size, 3);
  const info = await cluster.cli('cluster', 'info');
  assert.match(info, /cluster_state:ok/);
  assert.match(info, /cluster_slots_assigned:16384/);
  assert.match(info, /cluster_known_nodes:3/);
  const masters = (await cluster.cli('cluster', 'nodes')).split('\n').filter((l) => l.includes('master'));
  assert.equal(masters.length, 3);
  // Keys in different slots land on different nodes (cli -c follows MOVED).
  for (const key of ['a', 'b', 'c', 'd']) assert.equal(await cluster.cli('set', key, key), 'OK');
  assert.equal(await cluster.cli('get', 'b'), 'b');

  await cluster.kill();
  await cluster.restart();
  assert.match(await cluster.cli('cluster', 'info'), /cluster_state:ok/);
  assert.equal(await cluster.cli('exists', 'b'), '0');
});

test('startProxy: new connections follow setTarget, open ones stay until dropAll cuts them', async () => {
  const [one, two] = [await startRedis(), await startRedis()];
  cleanup.push(() => one.stop(), () => two.stop());
  await one.cli('set', 'who', 'one');
  await two.cli('set', 'who', 'two');
  const proxy = await startProxy(one.url);
  cleanup.push(() => proxy.close());

  const first = await connection(proxy.port);
  assert.equal(await first.send('GET who'), '$3');
  assert.equal(await first.line(), 'one');

  proxy.setTarget(two.url);
  const second = await connection(proxy.port);
  assert.equal(await second.send('GET who'), '$3');
  assert.equal(await second.line(), 'two');
  assert.equal(await first.send('PING'), '+PONG', 'the old connection still reaches the first server');
  assert.equal(proxy.accepted, 2);
  assert.equal(proxy.open, 2);

  proxy.dropAll();
  await Promise.all([first.closed, second.closed]);
  assert.equal(proxy.open, 0);
});
