// Test harness: real redis-server processes (Debian redis-server 7.0) started by the tests — a
// single server or a 3-master Redis Cluster — and a TCP proxy that stands in for a load balancer.
//
// Every process started here is also killed when the test process exits (a safety net for a
// test that fails before its `after` hook runs); tests still stop what they start in `after`.
import { spawn, execFile } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { freePort, distinctFreePorts, sleep, SLOW } from './hub.mjs';

const run = promisify(execFile);
export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';
export const REDIS_CLI = process.env.REDIS_CLI ?? 'redis-cli';

const live = new Set();
function killLive() {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killLive);
// A runner that interrupts the tests: kill the servers, then die of the same signal.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killLive();
    process.kill(process.pid, signal);
  });
}

// Sends one inline command over a fresh TCP connection; resolves with the first reply line, or
// null when nothing answered within `timeoutMs` (refused, reset, or a stopped server).
function probe(port, command = 'PING', timeoutMs = 500) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (value) => { clearTimeout(timer); socket.destroy(); resolve(value); };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk;
      const end = reply.indexOf('\r\n');
      if (end >= 0) done(reply.slice(0, end));
    });
    socket.on('error', () => done(null));
  });
}

// One redis-server process on `port`; resolves once it answers PING, rejects with its output
// if it exits first (`portInUse` tells a port collision from other failures).
async function spawnServer(port, extraArgs) {
  const child = spawn(REDIS_SERVER, [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    live.delete(child);
    resolve({ code, signal });
  }));
  let gone = null;
  exited.then((status) => { gone = status; });
  const deadline = Date.now() + 10000 * SLOW;
  while (Date.now() < deadline) {
    if (gone) {
      const error = new Error(`redis-server on port ${port} exited (${JSON.stringify(gone)}):\n${output}`);
      error.portInUse = /Address already in use/.test(output);
      throw error;
    }
    if ((await probe(port)) === '+PONG') return { child, exited, output: () => output };
    await sleep(20);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer PING:\n${output}`);
}

// Stops one server process: SIGCONT first (a paused server cannot act on SIGTERM), then SIGTERM,
// SIGKILL if it has not exited within 5 s.
async function stopServer(server, signal = 'SIGTERM') {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGCONT');
  server.child.kill(signal);
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000);
  await server.exited;
  clearTimeout(timer);
}

// Runs redis-cli against `port`; resolves with its trimmed stdout.
export function redisCli(port, ...args) {
  return cliOn(port, args);
}

async function cliOn(port, args) {
  const { stdout } = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args],
    { timeout: 10000 * SLOW });
  return stdout.trim();
}

// A single redis-server on a free port (or `port`), no persistence: a restart is an empty
// server (for the hubs, a new epoch).
//   stop()    SIGTERM (after SIGCONT), waits for the exit
//   kill()    SIGKILL, waits for the exit
//   restart() starts a fresh server on the same port (after kill() or stop())
//   pause()   SIGSTOP: the server keeps its connections but answers nothing
//   resume()  SIGCONT
//   cli(...)  redis-cli against it, resolves with stdout
export async function startRedis({ port } = {}) {
  let server;
  let chosen = port;
  for (let attempt = 0; ; attempt++) {
    chosen = port ?? await freePort();
    try {
      server = await spawnServer(chosen, []);
      break;
    } catch (error) {
      if (port !== undefined || !error.portInUse || attempt >= 5) throw error;
    }
  }
  const handle = {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    get pid() { return server.child.pid; },
    output: () => server.output(),
    stop: () => stopServer(server),
    kill: () => stopServer(server, 'SIGKILL'),
    async restart() {
      await stopServer(server, 'SIGKILL');
      server = await spawnServer(chosen, []);
    },
    pause() { server.child.kill('SIGSTOP'); },
    resume() { server.child.kill('SIGCONT'); },
    cli: (...args) => cliOn(chosen, args),
  };
  return handle;
}

// Waits until CLUSTER INFO on every port reports cluster_state:ok.
async function clusterOk(ports, timeoutMs = 20000 * SLOW) {
  const deadline = Date.now() + timeoutMs;
  let states = [];
  while (Date.now() < deadline) {
    states = await Promise.all(ports.map(async (p) => {
      const info = await cliOn(p, ['cluster', 'info']).catch(() => '');
      return /cluster_state:(\w+)/.exec(info)?.[1] ?? 'down';
    }));
    if (states.every((s) => s === 'ok')) return;
    await sleep(100);
  }
  throw new Error(`cluster_state not ok on every node within ${timeoutMs} ms: ${JSON.stringify(states)}`);
}

// A Redis Cluster of 3 masters and no replicas (see /work/shared/redis.md), each node in its
// own temporary directory, its cluster bus on its own free port (--cluster-port, Redis 7).
// Resolves once every node reports cluster_state:ok.
//   nodes     [{ port, url }]
//   url       the first node's URL (a hub finds the others from it)
//   stop()    stops every node and removes the directories
//   kill()    SIGKILL to every node; restart() starts them again on the same ports and
//             directories (the cluster layout survives in nodes.conf, the data does not)
//   pause()/resume()  SIGSTOP/SIGCONT to every node
//   cli(...)  redis-cli -c against the first node
export async function startCluster() {
  for (let attempt = 0; ; attempt++) {
    const ports = await distinctFreePorts(6);
    const dirs = [];
    const servers = [];
    const specs = [0, 1, 2].map((i) => ({ port: ports[i], bus: ports[i + 3] }));
    const args = (spec, dir) => ['--cluster-enabled', 'yes', '--cluster-port', String(spec.bus),
      '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000', '--dir', dir];
    try {
      for (const spec of specs) {
        const dir = mkdtempSync(join(tmpdir(), `nudge-redis-${spec.port}-`));
        dirs.push(dir);
        servers.push(await spawnServer(spec.port, args(spec, dir)));
      }
      await run(REDIS_CLI, ['--cluster', 'create', ...specs.map((s) => `127.0.0.1:${s.port}`),
        '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30000 * SLOW });
      await clusterOk(ports.slice(0, 3));
    } catch (error) {
      await Promise.all(servers.map((s) => stopServer(s, 'SIGKILL')));
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      if (!error.portInUse || attempt >= 5) throw error;
      continue;
    }
    const nodes = specs.map((s) => ({ port: s.port, url: `redis://127.0.0.1:${s.port}` }));
    return {
      nodes,
      port: nodes[0].port,
      url: nodes[0].url,
      async stop() {
        await Promise.all(servers.map((s) => stopServer(s)));
        for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      },
      async kill() { await Promise.all(servers.map((s) => stopServer(s, 'SIGKILL'))); },
      async restart() {
        await Promise.all(servers.map((s) => stopServer(s, 'SIGKILL')));
        for (let i = 0; i < specs.length; i++) servers[i] = await spawnServer(specs[i].port, args(specs[i], dirs[i]));
        await clusterOk(ports.slice(0, 3));
      },
      pause() { for (const s of servers) s.child.kill('SIGSTOP'); },
      resume() { for (const s of servers) s.child.kill('SIGCONT'); },
      cli: (...cliArgs) => cliOn(nodes[0].port, ['-c', ...cliArgs]),
    };
  }
}

// A TCP proxy standing in for a load balancer: each new connection goes to the current target
// (an `http://host:port` or `redis://host:port` URL, or { host, port }); connections already
// open stay where they are until either side closes them, or dropAll() cuts them all.
// hold() makes the target unreachable without cutting an answer in flight: new connections are
// closed at once and bytes towards the target stop, while its answers still come back;
// release() undoes it.
export async function startProxy(target) {
  let current = parseTarget(target);
  const pairs = new Set();
  let accepted = 0;
  let held = false;
  const server = createServer((downstream) => {
    accepted++;
    if (held) {
      downstream.destroy();
      return;
    }
    const upstream = createConnection(current);
    const pair = { downstream, upstream };
    pairs.add(pair);
    const close = () => {
      pairs.delete(pair);
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get accepted() { return accepted; },
    get open() { return pairs.size; },
    setTarget(next) { current = parseTarget(next); },
    hold() {
      held = true;
      for (const { downstream, upstream } of pairs) {
        downstream.unpipe(upstream);
        downstream.pause();
      }
    },
    release() { held = false; },
    dropAll() {
      for (const { downstream, upstream } of [...pairs]) {
        downstream.destroy();
        upstream.destroy();
      }
    },
    async close() {
      this.dropAll();
      server.close();
      await once(server, 'close');
    },
  };
}

function parseTarget(target) {
  if (typeof target === 'object') return { host: target.host ?? '127.0.0.1', port: Number(target.port) };
  const url = new URL(target);
  return { host: url.hostname, port: Number(url.port) };
}
