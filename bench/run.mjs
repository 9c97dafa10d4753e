#!/usr/bin/env node
// bench/run.mjs: the end-to-end benchmarks of nudged, driven by nudge-loadgen.
//   bench/run.mjs                  every scenario, writes bench/RESULTS.md and bench/results.png
//   bench/run.mjs --smoke          the same code paths at tiny N in seconds; checks every delivery,
//                              asserts no timing, writes nothing into the tree (make test runs it)
//   bench/run.mjs --only fanout    only the scenarios named (comma-separated; also BENCH_ONLY=...):
//                              memory, fanout, targeted, latency, storm, polling, recovery,
//                              scaleout, herd, floor, micro; the report goes to build-bench/RESULTS.md
//                              so the full one stays whole
//   --scaleout-clients N       clients of the scaleout scenario (default 95,000; smoke: 50)
//   --herd-clients N, --herd-rate R   the herd scenario's clients (default 10,000; smoke: 40) and
//                              --refetch-rate (default 2,000)
//   --report PATH              write the report there (a smoke run writes one only if asked)
//   --peer SCRIPT, --nudged PATH   other servers to drive (the tests use stand-ins)
//   --peer-shortfalls fail|report  whether the peer's shortfalls fail the run (default: report,
//                              fail with --smoke, where the tools themselves are under test)
//
// Every wait has a deadline and every process a phase starts is stopped when the phase ends,
// whatever happened. A phase the peer cannot complete (clients it does not hold, deliveries it
// loses, a step that times out) is a finding written into the report, and the run goes on; the
// same for nudged fails the run with the reason.
//
// Two scenarios use other clients than nudge-loadgen or only nudged:
//   polling    real socket.io-client clients (npm) in Node processes (bench/polling/clients.mjs),
//              long-polling only and then with the default transports (upgrade to WebSocket):
//              server RSS per idle client, and emit → receive latency through the publish API;
//   recovery   nudged alone: the broadcast fan-out with --recovery on and off alternated in the
//              same run (CPU per delivery, on / off), and the memory of the recovery history
//              (nudge_history_bytes and RSS growth per 1,000 events kept, one room and three).
// And one runs several servers at once:
//   scaleout   one redis-server and 5 hubs on it (nudged --broker redis://..., the peer with
//              @socket.io/redis-adapter), the clients spread evenly over the hubs by several load
//              generators (at most 19,000 clients each, each on its own source addresses): idle
//              memory per client, 5,000 targeted events/s round-robin through the hubs' publish
//              APIs (p50/p99 emit → receive, CPU per delivery of the hubs + Redis), and broadcasts
//              to the room every client is in (delivered/s, CPU per delivery of the hubs + Redis).
// And one measures what reaches the user's API:
//   herd       10,000 real @nudge/query-core clients refetch one key after one event: the origin's
//              peak and the time until every client is fresh, without spread, with a spread
//              window, with --refetch-rate, through nginx's collapse, and across a hub restart
//              (bench/herd/scenario.mjs).
import { spawn, execFileSync } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { readFileSync, writeFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SECRET, API_KEY, sleep, seedClient, token, connected } from '../tests/integration/lib/hub.mjs';
import { herd, herdReport } from './herd/scenario.mjs';

const started = Date.now();
const root = fileURLToPath(new URL('..', import.meta.url));
// The code that ran, read before the run writes its results into the tree.
const commit = execFileSync('git', ['describe', '--always', '--dirty'], { cwd: root, encoding: 'utf8' }).trim();
const SCENARIOS = ['memory', 'fanout', 'targeted', 'latency', 'storm', 'polling', 'recovery', 'scaleout', 'herd',
  'floor', 'micro'];
const { values: opts } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    only: { type: 'string', default: process.env.BENCH_ONLY ?? '' },
    report: { type: 'string' },
    peer: { type: 'string' },
    nudged: { type: 'string' },
    'peer-shortfalls': { type: 'string' },
    'scaleout-clients': { type: 'string' },
    'herd-clients': { type: 'string' },
    'herd-rate': { type: 'string' },
  },
});
const smoke = opts.smoke;
const only = opts.only ? opts.only.split(',').map((s) => s.trim()).filter(Boolean) : SCENARIOS;
for (const name of only) {
  if (!SCENARIOS.includes(name)) {
    console.error(`bench: unknown scenario "${name}" (one of: ${SCENARIOS.join(', ')})`);
    process.exit(2);
  }
}
const peerShortfallsFail = (opts['peer-shortfalls'] ?? (smoke ? 'fail' : 'report')) === 'fail';
const buildDir = `${root}/build-bench`;
const LOADGEN = `${buildDir}/nudge-loadgen`;
const FLOOR = `${buildDir}/send_floor`;
const TARGETED_FLOOR = `${buildDir}/targeted_floor`;
const SIO_CLIENTS = `${root}/bench/polling/clients.mjs`;
const NUDGED = opts.nudged ? resolvePath(opts.nudged) : `${buildDir}/nudged`;
const PEER = opts.peer ? resolvePath(opts.peer) : `${root}/bench/peers/socketio/server.mjs`;
const PEER_NAME = opts.peer ? basename(PEER) : 'Socket.IO';
const TARGETS = ['nudged', 'socket.io'];
const displayName = (kind) => (kind === 'nudged' ? 'nudged' : PEER_NAME);
// Where the report goes: the tree's for a full run, build-bench/ for a partial one.
const reportPath = opts.report ? resolvePath(opts.report)
  : smoke ? null
    : only.length === SCENARIOS.length ? `${root}/bench/RESULTS.md` : `${buildDir}/RESULTS.md`;

// Deadlines (ms). A load generator gives up by itself at its --timeout and then prints its ready
// line and report, so its waits get a margin on top; a delivery phase waits `settle` after the
// publisher finished for the last events, then stops the load generator and takes what arrived
// (`settleFanout` for broadcasts, where Socket.IO's last client has lagged by 40 s).
const D = smoke
  ? { listen: 30000, stop: 10000, clientTimeoutS: 15, margin: 30000, settle: 5000, settleFanout: 5000,
    publish: 60000, tool: 120000 }
  : { listen: 60000, stop: 20000, clientTimeoutS: 120, margin: 60000, settle: 30000, settleFanout: 120000,
    publish: 180000, tool: 900000 };

class Deadline extends Error {}

// Resolves with `promise`, or rejects with a Deadline error naming `what` after `ms`.
function within(ms, what, promise) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Deadline(`${what}: no answer within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// The processes a phase started: `end()` stops those still running (stdin closed and SIGTERM,
// SIGKILL after D.stop) so nothing outlives its phase, whatever happened in it.
const livePhases = new Set();
class Phase {
  constructor(name, label = name) {
    this.name = name;
    this.label = label;
    this.children = [];
    livePhases.add(this);
  }

  spawn(cmd, args, options) {
    const child = spawn(cmd, args, options);
    // 'close', not 'exit': by then its stdout has been read to the end. A failed spawn may emit
    // 'error' alone.
    const exited = new Promise((resolve) => {
      child.on('close', (code, signal) => resolve(code ?? signal));
      child.on('error', (e) => resolve(e.code));
    });
    this.children.push({ child, exited });
    return { child, exited };
  }

  async end() {
    await Promise.all(this.children.map(async ({ child, exited }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.destroy();
      child.kill('SIGTERM');
      try {
        await within(D.stop, `${this.name}: pid ${child.pid} after SIGTERM`, exited);
      } catch {
        child.kill('SIGKILL');
        await within(D.stop, `${this.name}: pid ${child.pid} after SIGKILL`, exited).catch((e) => console.error(`bench: ${e.message}`));
      }
    }));
    livePhases.delete(this);
  }
}

// Interrupted: stop whatever the running phase started before going.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    console.error(`bench: ${signal}, stopping`);
    await Promise.all([...livePhases].map((p) => p.end()));
    process.exit(130);
  });
}

// Starts nudged or the peer with the same flags (nudged also with `extra`, the peer with
// `peerExtra`); resolves when it listens.
async function startServer(phase, kind, extra = [], peerExtra = []) {
  const args = ['--host', '127.0.0.1', '--port', '0', '--jwt-secret', SECRET, '--api-key', API_KEY,
    ...(kind === 'nudged' ? extra : peerExtra)];
  const program = kind === 'nudged' ? NUDGED : PEER;
  const [cmd, argv] = /\.[cm]?js$/.test(program)
    ? [process.execPath, [program, ...args]]
    : [program, [...args, '--log-level', 'info']];
  const { child, exited } = phase.spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await within(D.listen, `${displayName(kind)} listening`, new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (match) resolve(match[1]);
    });
    exited.then((code) => reject(new Error(`${displayName(kind)} exited (${code}) before listening: ${out}`)));
  }));
  child.stdout.resume();
  return { url, child };
}

function sh(cmd, args) {
  execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}

function build() {
  if (!existsSync(`${buildDir}/build.ninja`)) sh('cmake', ['--preset', 'bench']);
  sh('cmake', ['--build', buildDir, '--target', 'nudge-loadgen', 'nudged', 'send_floor', 'targeted_floor', 'nudge-micro', '-j',
    String(cpus().length)]);
  // The herd scenario's clients run the built @nudge/query-core.
  if (only.includes('herd')) sh('npm', ['run', 'build', '--workspace', 'clients/query-core']);
}

function procStat(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const tick = 100; // USER_HZ
  return {
    cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / tick,
    rssKiB: Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]),
  };
}

// Runs a tool to completion within `ms`; resolves with its stdout whatever its exit code.
async function run(phase, cmd, args, ms, what) {
  const { child, exited } = phase.spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => { out += chunk; });
  const code = await within(ms, what, exited);
  return { out, code };
}

// Starts a `clients` load generator. `ready` resolves with its ready line: {"ready":true,...}
// once every client is settled, or {"ready":false,"gave_up":...} when it gave up on the ones
// still connecting; `done` with its final report, while its connections are still open (--hold):
// read the server's counters, then `release()`. `stop()` ends it early (SIGINT). Both waits
// have deadlines: the load generator's own timeout plus a margin.
// With `progressMs`, `progress` is its latest progress line and `nextProgress()` resolves with
// the next one; with `connectTimeout`, its ready line comes at the latest after that many
// seconds, and it goes on until `timeout`.
function clients(phase, {
  url, count, first = 0, expectEvents = 0, expectTotal = 0, timeout = D.clientTimeoutS, settle = D.settle,
  sources = '127.0.0.1-127.0.0.40', progressMs = 0, connectTimeout = 0,
}) {
  const args = ['clients', '--url', url, '--secret', SECRET, '--count', String(count), '--first', String(first),
    '--sources', sources, '--timeout', String(timeout), '--hold'];
  if (expectEvents) args.push('--expect-events', String(expectEvents));
  if (expectTotal) args.push('--expect-total', String(expectTotal));
  if (progressMs) args.push('--progress', String(progressMs));
  if (connectTimeout) args.push('--connect-timeout', String(connectTimeout));
  const { child, exited } = phase.spawn(LOADGEN, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.on('error', () => {}); // EPIPE when it has already exited: `exited` tells
  let partial = '';
  let resolveReady;
  let resolveDone;
  const readyLine = new Promise((resolve) => { resolveReady = resolve; });
  const doneLine = new Promise((resolve) => { resolveDone = resolve; });
  let progress = null;
  let progressWaiters = [];
  child.stdout.on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      if (line.startsWith('{"ready"')) resolveReady(JSON.parse(line));
      if (line.startsWith('{"clients"')) resolveDone(JSON.parse(line));
      if (line.startsWith('{"progress"')) {
        progress = JSON.parse(line);
        for (const resolve of progressWaiters) resolve(progress);
        progressWaiters = [];
      }
    }
  });
  const gone = exited.then((code) => { throw new Error(`load generator exited (${code}) early`); });
  gone.catch(() => {});
  // The deadlines start when a wait starts (the getters), so none is left running unawaited.
  const deadline = timeout * 1000 + D.margin;
  let ready;
  let done;
  const release = () => child.stdin.end();
  return {
    get ready() {
      ready ??= within((connectTimeout || timeout) * 1000 + D.margin, `${phase.name}: load generator ready line`,
        Promise.race([readyLine, gone]));
      return ready;
    },
    get progress() { return progress; },
    nextProgress: () => within(D.stop, `${phase.name}: load generator progress line`,
      Promise.race([new Promise((resolve) => { progressWaiters.push(resolve); }), gone])),
    get done() {
      done ??= within(deadline, `${phase.name}: load generator report`, Promise.race([doneLine, gone]));
      return done;
    },
    exited, release,
    stop: () => { child.kill('SIGINT'); release(); },
    // The report once the publisher finished: what arrived within D.settle, else stop and take it.
    settled: async () => {
      try {
        return await within(settle, `${phase.name}: deliveries`, Promise.race([doneLine, gone]));
      } catch {
        child.kill('SIGINT');
        return within(D.stop, `${phase.name}: load generator report after SIGINT`, Promise.race([doneLine, gone]));
      }
    },
    child,
  };
}

// `url` may be a list: the publisher's connections go round-robin over them.
async function publish(phase, { url, events, batch = 1, rate = 0, room = '', users = 1, connections = 1 }) {
  const args = ['publish', ...[url].flat().flatMap((u) => ['--url', u]), '--api-key', API_KEY, '--events',
    String(events), '--batch', String(batch), '--rate', String(rate), '--users', String(users), '--connections',
    String(connections)];
  if (room) args.push('--room', room);
  const ms = D.publish + (rate > 0 ? (events / rate) * 1000 : 0);
  const { out, code } = await run(phase, LOADGEN, args, ms, `${phase.name}: publisher`);
  const last = out.trim().split('\n').pop();
  if (!last?.startsWith('{')) throw new Error(`${phase.name}: publisher exited (${code}) without a report`);
  return JSON.parse(last);
}

// Every delivery is checked. A shortfall of nudged fails the run; one of the peer is a finding:
// reported in RESULTS.md (with --peer-shortfalls fail, as in the smoke run, it fails the run too).
const failures = [];
const findings = [];
function check(condition, message, kind = 'nudged') {
  if (condition) return;
  (kind === 'nudged' || peerShortfallsFail ? failures : findings).push(message);
}

const n = (x) => Number(x).toLocaleString('en-US');
// "Socket.IO held 11,900 of 19,000 clients; 5,600 closed by the server ..." from a load
// generator's report (the counts are the same in its ready line).
function heldText(kind, count, r) {
  const parts = [
    [r.dropped, 'closed by the server after connecting'],
    [r.failed, 'failed or closed by the server during the handshake'],
    [r.stalled, 'never finished the handshake'],
    [r.refused, 'refused'],
  ].filter(([c]) => c > 0).map(([c, what]) => `${n(c)} ${what}`);
  return `${displayName(kind)} held ${n(r.held)} of ${n(count)} clients`
    + `${r.held_max !== undefined && r.held_max !== r.held ? ` (${n(r.held_max)} at most)` : ''}`
    + `${parts.length ? `; ${parts.join(', ')}` : ''}`;
}
const perDelivery = (num, den) => (den > 0 ? num / den : null);

const FANOUT_ROUNDS_FULL = 20;
const N = smoke
  ? { memory: [50], fanout: [50], targeted: 50, latency: 50, storm: 50, polling: 20, pollingProcesses: 2,
    recovery: [50], recoveryRuns: 1, history: 200 }
  : { memory: [1000, 10000, 19000], fanout: [10000, 19000], targeted: 10000, latency: 10000, storm: 10000,
    polling: 1000, pollingProcesses: 4, recovery: [10000, 19000], recoveryRuns: 2, history: 10000 };
// The scaleout scenario: `hubs` server processes on one Redis, `clients` spread evenly over them;
// `rate` targeted events/s for `seconds` through `connections` publisher connections spread
// round-robin over the hubs; `rounds` broadcasts to "all", 4 a second.
const scaleoutClients = Number(opts['scaleout-clients'] ?? (smoke ? 50 : 95000));
if (!Number.isInteger(scaleoutClients) || scaleoutClients < 1) {
  console.error(`bench: --scaleout-clients must be a positive integer, not "${opts['scaleout-clients']}"`);
  process.exit(2);
}
N.scaleout = smoke
  ? { hubs: 2, clients: scaleoutClients, rate: 100, seconds: 1, connections: 2, rounds: 2 }
  : { hubs: 5, clients: scaleoutClients, rate: 5000, seconds: 10, connections: 10, rounds: FANOUT_ROUNDS_FULL };
const results = {};

class Fatal extends Error {}

// One server lifetime of one scenario: `fn(phase)` returns the row. Whatever happens, the
// processes it started are stopped at the end. If it throws (a deadline, a crash), the peer's
// row is left empty with a finding; nudged's fails the run.
async function phase(kind, label, fn) {
  const p = new Phase(`${displayName(kind)} ${label}`, label);
  try {
    return await fn(p);
  } catch (e) {
    if (kind === 'nudged' || peerShortfallsFail) {
      failures.push(`${p.name}: ${e.message}`);
      throw new Fatal(p.name);
    }
    findings.push(`${p.name}: could not complete (${e.message})`);
    return undefined;
  } finally {
    await p.end();
  }
}

async function idleMemory(kind) {
  const rows = [];
  for (const count of N.memory) {
    rows.push(await phase(kind, `idle memory, ${n(count)} clients`, async (p) => {
      const server = await startServer(p, kind);
      await sleep(300);
      const before = procStat(server.child.pid).rssKiB;
      const lg = clients(p, { url: server.url, count });
      await lg.ready;
      // Idle: settled after the connect storm (nudged gives free heap pages back once connects
      // calm down, at its next sweeps).
      await sleep(3000);
      const after = procStat(server.child.pid).rssKiB;
      lg.stop();
      const report = await lg.done;
      check(report.held === count, `${heldText(kind, count, report)} (${p.label})`, kind);
      return {
        clients: count, held: report.held, heldMax: report.held_max, rssKiB: after,
        perClientB: report.held > 0 ? Math.round(((after - before) * 1024) / report.held) : null,
      };
    }));
  }
  return rows;
}

// The fan-out, targeted and latency rows each run on SERVER_LIVES fresh server processes (with
// fresh clients) and give the median over them. On this shared 2-core machine the passes within
// one process agree within a few %, while one process's CPU per event differs from the next
// one's by up to ±20 % (where the scheduler happens to put its threads against the load
// generator's): one process per row was a draw.
const SERVER_LIVES = smoke ? 1 : 3;
// `fn(life)` for each of SERVER_LIVES server processes in turn: the results of those that completed.
// `ofLives(life)` names the process in a phase's label when there are several.
const ofLives = (life) => (SERVER_LIVES > 1 ? `, process ${life + 1} of ${SERVER_LIVES}` : '');
async function overLives(fn) {
  const lives = [];
  for (let life = 0; life < SERVER_LIVES; life++) {
    const one = await fn(life);
    if (one) lives.push(one);
  }
  return lives;
}
// The median of the figures there are (null for none).
const median = (xs) => {
  const sorted = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// Broadcasts to room "all": `rounds` separate publishes of `burst` events, spaced so rounds do
// not merge; CPU per delivery from the server's utime+stime, time-to-last-client per round.
const FANOUT_ROUNDS = smoke ? 2 : FANOUT_ROUNDS_FULL;
function fanoutPhase(kind, count, burst, { extra = [], label }) {
  const rounds = FANOUT_ROUNDS;
  return phase(kind, label, async (p) => {
    const server = await startServer(p, kind, extra);
    const lg = clients(p, {
      url: server.url, count, expectEvents: rounds * burst, timeout: smoke ? D.clientTimeoutS : 180, settle: D.settleFanout,
    });
    const ready = await lg.ready;
    check(ready.held === count, `${heldText(kind, count, ready)} (${p.label})`, kind);
    const cpu0 = procStat(server.child.pid).cpuMs;
    const pub = await publish(p, { url: server.url, events: rounds * burst, batch: burst, rate: burst * 4, room: 'all' });
    const report = await lg.settled();
    const cpuMs = procStat(server.child.pid).cpuMs - cpu0;
    const deliveries = report.events;
    check(pub.accepted === rounds * burst, `${p.name}: ${pub.accepted}/${rounds * burst} events accepted`, kind);
    check(deliveries === ready.held * rounds * burst,
      `${p.name}: ${n(deliveries)}/${n(ready.held * rounds * burst)} deliveries to the clients held`, kind);
    // The last round was published (rounds-1)/(4 per second) after the first.
    const lastRoundAt = BigInt(pub.start_ns) + BigInt(Math.round(((rounds - 1) / 4) * 1e9));
    return {
      clients: count, burst, rounds, deliveries, held: ready.held, cpuMs,
      lastClientMs: report.last_event_ns ? Number(BigInt(report.last_event_ns) - lastRoundAt) / 1e6 : null,
      cpuUsPerDelivery: perDelivery(cpuMs * 1000, deliveries),
      loadgenCpuS: report.cpu_s,
    };
  });
}

// Each row over SERVER_LIVES server processes (see there for why): the median
// CPU per delivery and time to the last client, every process's CPU in brackets.
async function fanout(kind) {
  const rows = [];
  for (const [count, burst] of N.fanout.flatMap((c) => [[c, 1], [c, 10]])) {
    const lives = await overLives((life) => fanoutPhase(kind, count, burst, {
      label: `fan-out, ${n(count)} clients, ${burst} per publish${ofLives(life)}`,
    }));
    const cpu = lives.map((x) => x.cpuUsPerDelivery);
    rows.push(lives.length === 0 ? undefined : {
      clients: count, burst, rounds: lives[0].rounds, processes: lives.length,
      deliveries: lives.reduce((sum, x) => sum + x.deliveries, 0),
      held: Math.min(...lives.map((x) => x.held)),
      cpuUsPerDelivery: median(cpu), cpuUsRuns: cpu,
      lastClientMs: median(lives.map((x) => x.lastClientMs)),
      loadgenCpuS: Math.round(lives.reduce((sum, x) => sum + x.loadgenCpuS, 0) * 1000) / 1000,
    });
  }
  return rows;
}

// The send() floor for each fan-out size, the median of SERVER_LIVES runs:
// clients → { cpu_us_per_send, round_ms, cpu_us_runs }.
async function floor() {
  return phase('nudged', 'send() floor', async (p) => {
    const out = {};
    for (const count of N.fanout) {
      const runs = [];
      for (let r = 0; r < SERVER_LIVES; r++) {
        const { out: text, code } = await run(p, FLOOR, [String(count), smoke ? '2' : '20', '40'], D.tool, 'send_floor');
        if (code !== 0) throw new Error(`send_floor exited (${code})`);
        runs.push(JSON.parse(text.trim()));
      }
      const cpu = runs.map((x) => x.cpu_us_per_send);
      out[count] = { cpu_us_per_send: median(cpu), round_ms: median(runs.map((x) => x.round_ms)), cpu_us_runs: cpu };
    }
    return out;
  });
}

// The targeted floor for each targeted case (bench/floor/targeted_floor.c: one read() per request,
// one frame write() per event, one answer write(), nothing else): [{ cpu_us_per_event, ... }].
async function targetedFloor() {
  return phase('nudged', 'targeted floor', async (p) => {
    const out = [];
    for (const [batch, events, connections] of TARGETED_CASES) {
      const runs = [];
      for (let r = 0; r < SERVER_LIVES; r++) {
        const { out: text, code } = await run(p, TARGETED_FLOOR,
          [String(N.targeted), String(connections), String(batch), String(events)], D.tool, 'targeted_floor');
        if (code !== 0) throw new Error(`targeted_floor exited (${code})`);
        runs.push(JSON.parse(text.trim()));
      }
      const cpu = runs.map((x) => x.cpu_us_per_event);
      out.push({ ...runs[0], cpu_us_per_event: median(cpu), cpu_us_runs: cpu });
    }
    return out;
  });
}

// The Google Benchmark suite over the hot paths (bench/micro): name → ns per operation.
async function micro() {
  return phase('nudged', 'micro benchmarks', async (p) => {
    const { out, code } = await run(p, `${buildDir}/nudge-micro`,
      ['--benchmark_format=json', `--benchmark_min_time=${smoke ? 0.01 : 0.5}`], D.tool, 'nudge-micro');
    if (code !== 0) throw new Error(`nudge-micro exited (${code})`);
    const { benchmarks } = JSON.parse(out);
    for (const b of benchmarks) check(!b.error_occurred, `micro: ${b.name} failed: ${b.error_message}`);
    check(benchmarks.length > 0, 'micro: no benchmarks ran');
    return benchmarks.map((b) => ({ name: b.name, ns: b.cpu_time, itemsPerS: b.items_per_second }));
  });
}

// Random user_<i> rooms through the publish API: serial requests from one keep-alive connection
// (round-trip bound), from 4 in parallel (server bound), and batches of 100.
// [events per request, events, connections]
const TARGETED_CASES = smoke
  ? [[1, 200, 1], [1, 200, 4], [100, 1000, 1]]
  : [[1, 20000, 1], [1, 40000, 4], [100, 200000, 1]];
// Each case runs on SERVER_LIVES fresh server processes (with fresh clients), each taking
// TARGETED_PASSES passes of the case's events; the row gives the median over the processes of
// each one's median pass, and every process's figure in brackets.
const TARGETED_PASSES = smoke ? 1 : 2;

// One server process for one targeted case: its median pass.
function targetedLife(kind, [batch, events, connections], life) {
  return phase(kind, `targeted, ${batch} per request × ${connections}${ofLives(life)}`, async (p) => {
    const server = await startServer(p, kind);
    // No expected total: the load generator would exit before its last progress line.
    const lg = clients(p, { url: server.url, count: N.targeted, timeout: smoke ? D.clientTimeoutS : 180, progressMs: 50 });
    const ready = await lg.ready;
    check(ready.held === N.targeted, `${heldText(kind, N.targeted, ready)} (${p.label})`, kind);
    // One pass: its events published, then every one of them delivered (the load generator's
    // progress lines count what has arrived), the server's CPU over that span.
    const passes = [];
    for (let r = 0; r < TARGETED_PASSES; r++) {
      const cpu0 = procStat(server.child.pid).cpuMs;
      const pub = await publish(p, { url: server.url, events, batch, users: N.targeted, connections });
      let seen = lg.progress;
      const until = Date.now() + D.settle;
      while ((seen?.events ?? 0) < events * (r + 1) && Date.now() < until) seen = await lg.nextProgress();
      const cpuMs = procStat(server.child.pid).cpuMs - cpu0;
      const got = (seen?.events ?? 0) - events * r;
      check(got === events, `${p.name}${TARGETED_PASSES > 1 ? `, pass ${r + 1}` : ''}: ${n(got)}/${n(events)} delivered `
        + `(${n(seen?.held ?? 0)} clients held)`, kind);
      const seconds = seen?.last_event_ns ? Number(BigInt(seen.last_event_ns) - BigInt(pub.start_ns)) / 1e9 : 0;
      passes.push({
        cpuUsPerEvent: (cpuMs * 1000) / events, deliveredPerS: seconds > 0 ? Math.round(got / seconds) : null,
        publisherCpuS: pub.cpu_s,
      });
      // A server that lost clients will not get them back: the next pass would fall short too.
      if (got !== events) break;
    }
    lg.stop();
    const report = await lg.done;
    return {
      delivered: report.events, loadgenCpuS: report.cpu_s,
      cpuUsPerEvent: median(passes.map((x) => x.cpuUsPerEvent)),
      deliveredPerS: Math.round(median(passes.map((x) => x.deliveredPerS ?? 0))) || null,
      publisherCpuS: median(passes.map((x) => x.publisherCpuS)),
    };
  });
}

async function targeted(kind) {
  const rows = [];
  for (const c of TARGETED_CASES) {
    const lives = await overLives((life) => targetedLife(kind, c, life));
    const [batch, events, connections] = c;
    const cpu = lives.map((x) => x.cpuUsPerEvent);
    rows.push(lives.length === 0 ? undefined : {
      batch, connections, events, processes: lives.length,
      delivered: lives.reduce((sum, x) => sum + x.delivered, 0),
      deliveredPerS: Math.round(median(lives.map((x) => x.deliveredPerS ?? 0))) || null,
      serverCpuUsPerEvent: median(cpu), serverCpuUsRuns: cpu,
      publisherCpuS: median(lives.map((x) => x.publisherCpuS)),
      loadgenCpuS: lives.reduce((sum, x) => sum + x.loadgenCpuS, 0),
    });
  }
  return rows;
}

// Targeted events to random users at a fixed rate: [events/s, publisher connections]. One
// keep-alive connection's round trips cannot carry 20,000 requests a second, so that rate comes
// from 4 (each stamps an event when it sends it: a publisher that falls behind lowers the rate
// it reaches, reported, not the latency).
const LATENCY_RATES = smoke ? [[100, 1], [400, 4]] : [[5000, 1], [20000, 4]];
// Over SERVER_LIVES server processes too (p99 moved from 0.9 to 1.6 ms between two single
// runs): each statistic is the median over the processes, the p99 of each in brackets.
async function latency(kind) {
  const seconds = smoke ? 1 : 10;
  const rows = [];
  for (const [rate, connections] of LATENCY_RATES) {
    const events = rate * seconds;
    const label = (life) => `latency, ${n(N.latency)} clients, ${n(rate)} events/s${ofLives(life)}`;
    const lives = await overLives((life) => phase(kind, label(life), async (p) => {
      const server = await startServer(p, kind);
      const lg = clients(p, { url: server.url, count: N.latency, expectTotal: events });
      const ready = await lg.ready;
      check(ready.held === N.latency, `${heldText(kind, N.latency, ready)} (${p.label})`, kind);
      const pub = await publish(p, { url: server.url, events, rate, users: N.latency, connections });
      const report = await lg.settled();
      check(report.events === events, `${p.name}: ${n(report.events)}/${n(events)} delivered`, kind);
      return { ...report.latency_us, reached: pub.events_per_s };
    }));
    const stat = (k) => median(lives.map((x) => x[k]));
    rows.push(lives.length === 0 ? undefined : {
      clients: N.latency, rate, connections, seconds, processes: lives.length, reached: Math.round(stat('reached')),
      p50: stat('p50'), p99: stat('p99'), p999: stat('p999'), max: stat('max'), p99Runs: lives.map((x) => x.p99),
    });
  }
  return rows;
}

async function connectStorm(kind) {
  return phase(kind, `connect storm, ${n(N.storm)} clients`, async (p) => {
    const server = await startServer(p, kind);
    const lg = clients(p, { url: server.url, count: N.storm, timeout: smoke ? D.clientTimeoutS : 180 });
    await lg.ready;
    lg.stop();
    const report = await lg.done;
    check(report.held === N.storm, `${heldText(kind, N.storm, report)} (${p.label})`, kind);
    return { clients: N.storm, held: report.held, connectMs: report.connect_ms, loadgenCpuS: report.cpu_s };
  });
}

// Starts `count` socket.io-client clients (bench/polling/clients.mjs) spread over `processes`
// Node processes: `transports` 'polling' (long-polling only) or 'default' (upgrade to WebSocket).
// `ready()` resolves with their ready lines summed; `waitEvents(total, ms)` waits until they
// received `total` events together or `ms` passed; `report()` asks each for its counts and
// latencies. Every wait has a deadline; the processes end with the phase (stdin closed).
function sioClients(phase, { url, count, transports, processes, timeout = D.clientTimeoutS }) {
  const per = Math.ceil(count / processes);
  const procs = [];
  for (let first = 0; first < count; first += per) {
    const size = Math.min(per, count - first);
    const { child, exited } = phase.spawn(process.execPath, [SIO_CLIENTS, '--url', url, '--secret', SECRET,
      '--count', String(size), '--first', String(first), '--transports', transports, '--timeout', String(timeout)],
    { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.on('error', () => {}); // EPIPE when it has already exited: `exited` tells
    const state = { child, events: 0, reports: [] };
    let partial = '';
    let resolveReady;
    state.readyLine = new Promise((resolve) => { resolveReady = resolve; });
    child.stdout.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        const msg = JSON.parse(line);
        if ('ready' in msg) resolveReady(msg);
        else if (msg.report) state.reports.shift()?.(msg);
        else if (msg.events !== undefined) state.events = msg.events;
      }
    });
    state.gone = exited.then((code) => { throw new Error(`socket.io-client process exited (${code}) early`); });
    state.gone.catch(() => {});
    procs.push(state);
  }
  const sum = (list, key) => list.reduce((total, x) => total + (x[key] ?? 0), 0);
  return {
    ready: async () => {
      const lines = await within(timeout * 1000 + D.margin, `${phase.name}: socket.io-client ready lines`,
        Promise.all(procs.map((s) => Promise.race([s.readyLine, s.gone]))));
      return {
        ready: lines.every((l) => l.ready),
        ...Object.fromEntries(['held', 'failed', 'stalled', 'dropped'].map((k) => [k, sum(lines, k)])),
      };
    },
    waitEvents: async (total, ms) => {
      const end = Date.now() + ms;
      while (sum(procs, 'events') < total && Date.now() < end) await sleep(100);
    },
    report: async () => {
      const reports = await within(D.stop, `${phase.name}: socket.io-client reports`, Promise.all(procs.map((s) => {
        const answer = new Promise((resolve) => { s.reports.push(resolve); });
        s.child.stdin.write('report\n');
        return Promise.race([answer, s.gone]);
      })));
      return {
        held: sum(reports, 'held'), dropped: sum(reports, 'dropped'), events: sum(reports, 'events'),
        latencyUs: reports.flatMap((r) => r.latency_us),
      };
    },
  };
}

// p50/p99/p99.9/max of a list of µs.
function percentiles(values) {
  if (!values.length) return {};
  const sorted = Float64Array.from(values).sort();
  const q = (f) => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))];
  return { p50: q(0.5), p99: q(0.99), p999: q(0.999), max: sorted[sorted.length - 1] };
}

// Real socket.io-client clients, long-polling only and then upgraded to WebSocket: the server's
// RSS per idle client 3 s after the last connected, then `rate` events/s to random user_<i>
// through the publish API, emit → receive in the client.
async function polling(kind) {
  const count = N.polling;
  const rate = smoke ? 20 : 200;
  const seconds = smoke ? 1 : 10;
  const events = rate * seconds;
  const rows = {};
  for (const [key, transports, what] of [['polling', 'polling', 'long-polling'], ['upgraded', 'default', 'upgraded to WebSocket']]) {
    rows[key] = await phase(kind, `${what}, ${n(count)} socket.io-client clients`, async (p) => {
      const server = await startServer(p, kind);
      await sleep(300);
      const before = procStat(server.child.pid).rssKiB;
      const sio = sioClients(p, { url: server.url, count, transports, processes: N.pollingProcesses });
      const ready = await sio.ready();
      check(ready.held === count, `${heldText(kind, count, ready)} (${p.label})`, kind);
      const row = { clients: count, processes: N.pollingProcesses, held: ready.held, rate, seconds, events };
      if (ready.held === 0) return row;
      await sleep(3000);
      const after = procStat(server.child.pid).rssKiB;
      row.rssKiB = after;
      row.perClientB = Math.round(((after - before) * 1024) / ready.held);
      const pub = await publish(p, { url: server.url, events, rate, users: count });
      check(pub.accepted === events, `${p.name}: ${pub.accepted}/${events} events accepted`, kind);
      await sio.waitEvents(events, D.settle);
      const report = await sio.report();
      check(report.events === events, `${p.name}: ${n(report.events)}/${n(events)} delivered `
        + `(${n(report.held)} clients held, ${n(report.dropped)} dropped)`, kind);
      return { ...row, delivered: report.events, ...percentiles(report.latencyUs) };
    });
  }
  return rows;
}

// Prometheus text from GET /metrics: name → value (unlabelled samples).
async function hubMetrics(url) {
  const res = await within(D.publish, 'GET /metrics', fetch(`${url}/metrics`));
  const text = await res.text();
  return Object.fromEntries(text.split('\n').filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(' ')).filter(([name]) => !name.includes('{')).map(([name, v]) => [name, Number(v)]));
}

// About 60 bytes of JSON data per event, like a typical invalidation payload.
const HISTORY_DATA_BYTES = 60;
function historyData(i) {
  const data = { id: i, key: '' };
  data.key = 'k'.repeat(HISTORY_DATA_BYTES - JSON.stringify(data).length);
  return data;
}

// `N.history` events to `rooms` room(s) each (no clients) on a hub that keeps them all:
// nudge_history_bytes and the process RSS before and after, per 1,000 events kept.
async function historyMemory(rooms) {
  const events = N.history;
  return phase('nudged', `history memory, ${n(events)} events to ${rooms} room${rooms > 1 ? 's' : ''}`, async (p) => {
    const server = await startServer(p, 'nudged',
      ['--recovery', 'on', '--history-size', String(events), '--history-ttl', '3600']);
    await sleep(300);
    const m0 = await hubMetrics(server.url);
    const rss0 = procStat(server.child.pid).rssKiB;
    const targets = Array.from({ length: rooms }, (_, i) => `history_${i}`);
    // The history keeps the events of rooms a session that recovers is in: one such member.
    const member = seedClient(server.url, token('history_member', { rooms: targets }));
    await within(D.publish, `${p.name}: a member that recovers`, connected(member));
    let accepted = 0;
    for (let i = 0; i < events; i += 100) {
      const batch = Array.from({ length: Math.min(100, events - i) }, (_, j) => ({
        ...(rooms === 1 ? { room: targets[0] } : { rooms: targets }), event: 'bench', data: historyData(i + j),
      }));
      const res = await within(D.publish, `${p.name}: publish`, fetch(`${server.url}/api/v1/emit`, {
        method: 'POST', body: JSON.stringify({ events: batch }),
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      }));
      const body = await res.json();
      if (res.status !== 202) throw new Error(`publish answered ${res.status}: ${JSON.stringify(body)}`);
      accepted += body.accepted;
    }
    // Settled: the broker appends to the history before it answers; give the allocator a sweep.
    await sleep(1000);
    const m1 = await hubMetrics(server.url);
    const rss1 = procStat(server.child.pid).rssKiB;
    member.close();
    const kept = m1.nudge_history_events - m0.nudge_history_events;
    check(accepted === events, `${p.name}: ${accepted}/${events} events accepted`);
    check(kept === events, `${p.name}: nudge_history_events grew by ${kept}, not ${events}`);
    return {
      events, rooms, dataBytes: HISTORY_DATA_BYTES, historyEvents: m1.nudge_history_events,
      historyBytesPer1k: ((m1.nudge_history_bytes - m0.nudge_history_bytes) * 1000) / events,
      rssBytesPer1k: ((rss1 - rss0) * 1024 * 1000) / events,
    };
  });
}

// nudged alone: broadcast CPU per delivery with --recovery on and off, alternated (on, off, then
// off, on, ...) so drift on the shared machine hits both alike; then the history's memory.
async function recovery() {
  const fan = [];
  for (const count of N.recovery) {
    for (const burst of [1, 10]) {
      const runs = { on: [], off: [] };
      for (let r = 0; r < N.recoveryRuns; r += 1) {
        for (const mode of r % 2 === 0 ? ['on', 'off'] : ['off', 'on']) {
          runs[mode].push(await fanoutPhase('nudged', count, burst, {
            extra: ['--recovery', mode],
            label: `recovery ${mode}, fan-out, ${n(count)} clients, ${burst} per publish, run ${r + 1}`,
          }));
        }
      }
      const pooled = (list) => perDelivery(list.reduce((t, x) => t + x.cpuMs * 1000, 0), list.reduce((t, x) => t + x.deliveries, 0));
      fan.push({
        clients: count, burst, on: pooled(runs.on), off: pooled(runs.off),
        onRuns: runs.on.map((x) => x.cpuUsPerDelivery), offRuns: runs.off.map((x) => x.cpuUsPerDelivery),
      });
    }
  }
  const history = [];
  for (const rooms of [1, 3]) history.push(await historyMemory(rooms));
  return { fanout: fan, history };
}

// A free TCP port on 127.0.0.1: bound, read and released, for redis-server to take right after.
async function freePort() {
  const server = createNetServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => { server.close(resolve); });
  return port;
}

// A redis-server of the phase's own, without persistence; resolves with its URL and process once
// it accepts connections.
async function startRedis(phase) {
  const port = await freePort();
  const { child, exited } = phase.spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await within(D.listen, 'redis-server ready', new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) resolve();
    });
    exited.then((code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)));
  }));
  child.stdout.resume();
  return { url: `redis://127.0.0.1:${port}`, child };
}

// A process may hold 20,000 descriptors here: a load generator holds at most this many clients.
const LOADGEN_MAX_CLIENTS = 19000;
const SOURCES_PER_LOADGEN = 8;

// `count` clients (user ids 0 … count-1, each in user_<i> and "all") spread evenly over the
// servers, each server's share over as few load generators as LOADGEN_MAX_CLIENTS allows; each
// load generator binds its own source addresses, 127.0.0.x, so none shares another's ports.
function spreadClients(phase, servers, count, options) {
  const lgs = [];
  let first = 0;
  servers.forEach((server, h) => {
    const share = Math.floor(count / servers.length) + (h < count % servers.length ? 1 : 0);
    for (let taken = 0; taken < share; taken += LOADGEN_MAX_CLIENTS) {
      const size = Math.min(LOADGEN_MAX_CLIENTS, share - taken);
      const low = 1 + SOURCES_PER_LOADGEN * lgs.length;
      const high = low + SOURCES_PER_LOADGEN - 1;
      if (high > 254) throw new Error(`${phase.name}: more load generators than source addresses 127.0.0.1-254`);
      lgs.push(clients(phase, { url: server.url, count: size, first, sources: `127.0.0.${low}-127.0.0.${high}`, ...options }));
      first += size;
    }
  });
  return lgs;
}

// Progress lines of several load generators summed: clients held, events, the last event's
// time, the cumulative latency histogram (bucket value → count).
function sumProgress(lines) {
  const total = { held: 0, dropped: 0, events: 0, lastEventNs: 0, buckets: new Map() };
  for (const line of lines) {
    total.held += line.held;
    total.dropped += line.dropped;
    total.events += line.events;
    total.lastEventNs = Math.max(total.lastEventNs, line.last_event_ns);
    for (const [v, c] of line.latency_us) total.buckets.set(v, (total.buckets.get(v) ?? 0) + c);
  }
  return total;
}

// A fresh progress line from each load generator, summed.
async function snapshot(lgs) {
  return sumProgress(await Promise.all(lgs.map((lg) => lg.nextProgress())));
}

// Waits until the load generators got `total` events more than at `before`, or `ms` passed;
// resolves with the last sum.
async function awaitEvents(lgs, before, total, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const now = await snapshot(lgs);
    if (now.events - before.events >= total || Date.now() >= end) return now;
  }
}

// What arrived between two sums: events, and emit → receive quantiles of those events (µs, the
// histogram's bucket values: ≤ 1.6% above the exact value).
function windowOf(before, after) {
  const buckets = [...after.buckets].map(([v, c]) => [v, c - (before.buckets.get(v) ?? 0)])
    .filter(([, c]) => c > 0).sort((a, b) => a[0] - b[0]);
  const count = buckets.reduce((t, [, c]) => t + c, 0);
  const q = (f) => {
    let seen = 0;
    for (const [v, c] of buckets) {
      seen += c;
      if (seen >= Math.ceil(f * count)) return v;
    }
    return null;
  };
  return { events: after.events - before.events, p50: q(0.5), p99: q(0.99), p999: q(0.999), max: buckets.at(-1)?.[0] ?? null };
}

// N.scaleout.hubs servers on one redis-server of the phase's own, N.scaleout.clients clients
// spread over them; in that one session: the hubs' RSS per idle client (and Redis's), then
// targeted events to random user_<i> at N.scaleout.rate through every hub's publish API
// (round-robin), then N.scaleout.rounds broadcasts to "all" through the first hub. CPU is
// user+system time of every hub and of redis-server over each window, from just before the
// publisher starts until the last delivery (seen within 100 ms).
async function scaleout(kind) {
  const S = N.scaleout;
  const events = S.rate * S.seconds;
  return phase(kind, `scale-out, ${S.hubs} hubs on one Redis, ${n(S.clients)} clients`, async (p) => {
    const redis = await startRedis(p);
    const servers = await Promise.all(Array.from({ length: S.hubs },
      () => startServer(p, kind, ['--broker', redis.url], ['--redis', redis.url])));
    const hubPids = servers.map((server) => server.child.pid);
    // CPU ms of the hubs and of redis-server: [hubs, redis].
    const cpuMs = () => [hubPids.reduce((t, pid) => t + procStat(pid).cpuMs, 0), procStat(redis.child.pid).cpuMs];
    const since = ([hubs0, redis0]) => {
      const [hubs1, redis1] = cpuMs();
      return { hubs: hubs1 - hubs0, redis: redis1 - redis0 };
    };
    // CPU µs per delivery over a window, and the same above the idle floor measured below.
    const costs = (split, ms, deliveries) => ({
      cpuMs: split.hubs + split.redis, hubsCpuMs: split.hubs, redisCpuMs: split.redis, windowMs: ms,
      cpuUsPerDelivery: perDelivery((split.hubs + split.redis) * 1000, deliveries),
      aboveIdleUsPerDelivery: perDelivery((split.hubs + split.redis - (row.idleCpuMsPerS * ms) / 1000) * 1000, deliveries),
    });
    const hubRssKiB = () => hubPids.reduce((t, pid) => t + procStat(pid).rssKiB, 0);
    await sleep(300);
    const rss0 = hubRssKiB();
    const redisRss0 = procStat(redis.child.pid).rssKiB;
    const connectTimeout = smoke ? D.clientTimeoutS : 600;
    const lgs = spreadClients(p, servers, S.clients, { progressMs: 100, connectTimeout, timeout: connectTimeout + 3600 });
    const readies = await Promise.all(lgs.map((lg) => lg.ready));
    const ready = Object.fromEntries(['held', 'failed', 'refused', 'dropped', 'stalled']
      .map((k) => [k, readies.reduce((t, r) => t + r[k], 0)]));
    check(ready.held === S.clients, `${heldText(kind, S.clients, ready)} (${p.label})`, kind);
    const row = { hubs: S.hubs, clients: S.clients, loadgens: lgs.length, held: ready.held };
    if (ready.held === 0) return row;
    // Idle: settled after the connect storm, as in the idle-memory scenario; the CPU the hubs and
    // Redis spend meanwhile (heartbeats, timers) is the floor under both windows below.
    const idle0 = cpuMs();
    const idleStart = Date.now();
    await sleep(3000);
    const idle = since(idle0);
    row.idleCpuMsPerS = ((idle.hubs + idle.redis) * 1000) / (Date.now() - idleStart);
    row.perClientB = Math.round(((hubRssKiB() - rss0) * 1024) / ready.held);
    row.redisPerClientB = Math.round(((procStat(redis.child.pid).rssKiB - redisRss0) * 1024) / ready.held);

    let before = await snapshot(lgs);
    let cpu0 = cpuMs();
    let window0 = Date.now();
    const pub = await publish(p, {
      url: servers.map((server) => server.url), events, rate: S.rate, users: S.clients, connections: S.connections,
    });
    let after = await awaitEvents(lgs, before, events, D.settle);
    let split = since(cpu0);
    const targeted = windowOf(before, after);
    check(pub.accepted === events, `${p.name}: ${n(pub.accepted)}/${n(events)} targeted events accepted`, kind);
    check(targeted.events === events, `${p.name}: ${n(targeted.events)}/${n(events)} targeted events delivered `
      + `(${n(after.held)} clients held)`, kind);
    row.targeted = {
      rate: S.rate, seconds: S.seconds, events, connections: S.connections, publishedPerS: Math.round(pub.events_per_s),
      ...targeted, ...costs(split, Date.now() - window0, targeted.events), publisherCpuS: pub.cpu_s,
    };

    before = await snapshot(lgs);
    const expected = before.held * S.rounds;
    cpu0 = cpuMs();
    window0 = Date.now();
    const bpub = await publish(p, { url: servers[0].url, events: S.rounds, rate: 4, room: 'all' });
    after = await awaitEvents(lgs, before, expected, D.settleFanout);
    split = since(cpu0);
    const broadcast = windowOf(before, after);
    const broadcastCosts = costs(split, Date.now() - window0, broadcast.events);
    check(bpub.accepted === S.rounds, `${p.name}: ${bpub.accepted}/${S.rounds} broadcasts accepted`, kind);
    check(broadcast.events === expected,
      `${p.name}: ${n(broadcast.events)}/${n(expected)} broadcast deliveries to the clients held`, kind);
    // The last round was published (rounds-1)/(4 per second) after the first.
    const lastRoundAt = bpub.start_ns + ((S.rounds - 1) / 4) * 1e9;
    const span = (after.lastEventNs - bpub.start_ns) / 1e9;
    row.broadcast = {
      rounds: S.rounds, expected, ...broadcast, ...broadcastCosts,
      deliveriesPerCpuS: broadcastCosts.cpuMs > 0 ? Math.round(broadcast.events / (broadcastCosts.cpuMs / 1000)) : null,
      deliveredPerS: span > 0 ? Math.round(broadcast.events / span) : null,
      lastClientMs: after.lastEventNs > 0 ? (after.lastEventNs - lastRoundAt) / 1e6 : null,
    };
    for (const lg of lgs) lg.stop();
    const reports = await Promise.all(lgs.map((lg) => lg.done));
    row.loadgenCpuS = Number(reports.reduce((t, r) => t + r.cpu_s, 0).toFixed(3));
    return row;
  });
}

// A table cell: '—' where a phase left no number.
const cell = (v, f = String) => (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? '—' : f(v));
const fmt1 = (x) => x.toFixed(1);
const fmt2 = (x) => x.toFixed(2);
const fmt3 = (x) => x.toFixed(3);
// A median, then the figure of every process it was taken over when there were several.
const withRuns = (v, runs, f) => `${f(v)} µs${runs?.length > 1 ? ` (${runs.map((x) => cell(x, f)).join(', ')})` : ''}`;
// A targeted row's CPU per event; a fan-out row's CPU per delivery.
const cpuCell = (t) => cell(t?.serverCpuUsPerEvent, (v) => withRuns(v, t.serverCpuUsRuns, fmt1));
const fanCpuCell = (f) => cell(f?.cpuUsPerDelivery, (v) => withRuns(v, f.cpuUsRuns, fmt2));
const ratio = (a, b) => (a > 0 && b > 0 ? `${(a / b).toFixed(2)}×` : '—');
const at = (rows, i) => rows?.[i];

function reportLines(totalS) {
  const nudged = results.nudged;
  const peer = results['socket.io'];
  const P = PEER_NAME;
  const ran = (s) => only.includes(s);
  const lines = [
    '# nudged benchmark results', '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}, ${Math.round(Number(readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s+(\d+)/)[1]) / 1048576)} GiB. ` +
      `Date: ${new Date().toISOString()}. Commit: ${commit}. Produced by \`make bench\` (bench/run.mjs${smoke ? ' --smoke' : ''}${only.length < SCENARIOS.length ? ` --only ${only.join(',')}` : ''}) in one run of ${Math.round(totalS)} s;`,
    'the machine is shared and noisy, so compare the ratios, which come from the same run.',
    `Peer: ${opts.peer ? PEER : 'Socket.IO 4 on Node (bench/peers/socketio)'}, same flags, JWT rules and publish API. Floor: one`,
    '40-byte send() per loopback connection (bench/floor/send_floor.c). Load: nudge-loadgen (its own CPU shown).', '',
  ];
  if (existsSync(pngPath())) lines.push('![ratios](results.png)', '');
  if (findings.length) {
    lines.push(`## Findings: what ${P} could not do`, '',
      'Shortfalls of the peer do not stop the run; its numbers below come from the clients it did hold.', '',
      ...findings.map((m) => `- ${m}`), '');
  }
  if (ran('memory')) {
    lines.push('## Idle memory (RSS of the server process per connected, authenticated client)', '',
      `"held" is the most clients the server held at once in that phase (of the "clients" opened).`, '',
      `| clients | nudged | held by nudged | ${P} | held by ${P} | ${P} / nudged |`, '| ---: | ---: | ---: | ---: | ---: | ---: |',
      ...N.memory.map((_, i) => {
        const a = at(nudged.memory, i);
        const b = at(peer.memory, i);
        return `| ${n(N.memory[i])} | ${cell(a?.perClientB, (v) => `${v} B`)} | ${cell(a?.heldMax, n)} | ${cell(b?.perClientB, (v) => `${v} B`)} | ${cell(b?.heldMax, n)} | ${ratio(b?.perClientB, a?.perClientB)} |`;
      }), '');
  }
  if (ran('fanout')) {
    const floorAt = (c) => results.floor?.[c]?.cpu_us_per_send;
    lines.push(`## Broadcast fan-out (room "all", ${smoke ? 2 : 20} publishes 250 ms apart; CPU per delivery from the server's user+system time)`, '',
      ...(results.floor ? N.fanout.map((c) => `Floor at ${n(c)}: ${fmt2(results.floor[c].cpu_us_per_send)} µs CPU per send()${results.floor[c].cpu_us_runs.length > 1 ? ` (runs: ${results.floor[c].cpu_us_runs.map(fmt2).join(', ')})` : ''}, ${results.floor[c].round_ms.toFixed(1)} ms to write all ${n(c)} connections once.`) : []),
      ...(SERVER_LIVES > 1 ? ['', `Each figure is the median over ${SERVER_LIVES} server processes (the floor: ${SERVER_LIVES} runs), every process's CPU in brackets.`] : []),
      '', `| clients | events per publish | nudged CPU/delivery | ${P} CPU/delivery | nudged / floor | last client (nudged) | last client (${P}) |`,
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...N.fanout.flatMap((c) => [[c, 1], [c, 10]]).map(([c, burst], i) => {
        const a = at(nudged.fanout, i);
        const b = at(peer.fanout, i);
        return `| ${n(c)} | ${burst} | ${fanCpuCell(a)} | ${fanCpuCell(b)} | ${ratio(a?.cpuUsPerDelivery, floorAt(c))} | ${cell(a?.lastClientMs, (v) => `${fmt1(v)} ms`)} | ${cell(b?.lastClientMs, (v) => `${fmt1(v)} ms`)} |`;
      }), '',
      'A burst of 10 events is 10 frames in one write per client, so its CPU per delivery falls below the one-send() floor.', '',
      `Load generator CPU per row: ${nudged.fanout.map((f) => cell(f?.loadgenCpuS)).join(' / ')} s (nudged), ${peer.fanout.map((f) => cell(f?.loadgenCpuS)).join(' / ')} s (${P}).`, '');
  }
  if (ran('targeted')) {
    lines.push(`## Targeted emits (random user_<i> of ${n(N.targeted)} connected, keep-alive publishers, every event confirmed delivered)`, '',
      'One connection sends its requests in series, so that row is bound by the round trip; four connections in',
      'parallel load the server. CPU per event is the server process\'s user+system time over the run.',
      'The floor (bench/floor/targeted_floor.c) does only the system calls no hub can avoid, on one thread: one read() per',
      'request, one write() of one WebSocket frame to a random client per event, one write() of the answer.',
      `Each CPU figure is the median over ${SERVER_LIVES} server processes (each: the median of ${TARGETED_PASSES} passes over its clients; the floor: ${SERVER_LIVES} runs), every process's figure in brackets.`, '',
      `| events per request × connections | nudged delivered/s | ${P} delivered/s | nudged / ${P} | nudged CPU/event | ${P} CPU/event | floor CPU/event | nudged / floor | ${P} / floor |`,
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...nudged.targeted.map((t, i) => {
        const b = at(peer.targeted, i);
        const f = results.targetedFloor?.[i]?.cpu_us_per_event;
        return `| ${t.batch} × ${t.connections} | ${cell(t.deliveredPerS)} | ${cell(b?.deliveredPerS)} | ${ratio(t.deliveredPerS, b?.deliveredPerS)} | ${cpuCell(t)} | ${cpuCell(b)} | ${cell(f, (v) => `${fmt1(v)} µs`)} | ${ratio(t.serverCpuUsPerEvent, f)} | ${ratio(b?.serverCpuUsPerEvent, f)} |`;
      }), '',
      `Publisher CPU: ${nudged.targeted.map((t) => cell(t?.publisherCpuS, fmt3)).join(' / ')} s (nudged), ${peer.targeted.map((t) => cell(t?.publisherCpuS, fmt3)).join(' / ')} s (${P}).`, '');
  }
  if (ran('latency')) {
    lines.push(`## Latency, emit → receive (${n(N.latency)} clients, targeted events to random users, ${smoke ? 1 : 10} s per rate)`, '',
      '| server | events/s | publishers | reached/s | p50 | p99 | p99.9 | max |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...LATENCY_RATES.flatMap(([rate, connections], i) => [['nudged', at(nudged.latency, i)], [P, at(peer.latency, i)]].map(([name, r]) =>
        `| ${name} | ${n(rate)} | ${connections} | ${cell(r?.reached, n)} | ${cell(r?.p50)} µs | ${cell(r?.p99)} µs${r?.p99Runs?.length > 1 ? ` (${r.p99Runs.join(', ')})` : ''} | ${cell(r?.p999)} µs | ${cell(r?.max)} µs |`)),
      '', ...(SERVER_LIVES > 1 ? [`Each figure is the median over ${SERVER_LIVES} server processes; the p99 of each process in brackets.`] : []),
      '"reached/s" is the rate the publishers reached: below the rate asked, the server\'s answers were too slow for them.', '');
  }
  if (ran('storm')) {
    lines.push(`## Connect storm (${n(N.storm)} clients connect and authenticate, server freshly started)`, '',
      `| nudged | ${P} | ${P} / nudged |`, '| ---: | ---: | ---: |',
      `| ${fmt1(nudged.storm.connectMs)} ms | ${cell(peer.storm?.connectMs, (v) => `${fmt1(v)} ms`)}${peer.storm && peer.storm.held !== N.storm ? ` (${n(peer.storm.held)} held)` : ''} | ${ratio(peer.storm?.connectMs, nudged.storm.connectMs)} |`, '');
  }
  if (ran('polling')) {
    const a = nudged.polling ?? {};
    const b = peer.polling ?? {};
    const r = a.polling ?? a.upgraded ?? {};
    const us = (v) => `${Math.round(v).toLocaleString('en-US')} µs`;
    const row = (what, x, y, f, better = (u, v) => ratio(v, u)) => `| ${what} | ${cell(x, f)} | ${cell(y, f)} | ${better(x, y)} |`;
    const bytes = (v) => `${n(v)} B`;
    lines.push(`## HTTP long-polling and the upgrade (${n(N.polling)} socket.io-client clients from npm, in ${N.pollingProcesses} Node processes)`, '',
      'Memory: RSS of the server per client, 3 s after the last one connected (long-polling only: `transports: [\'polling\']`;',
      'upgraded: the default transports, counted once every client moved to WebSocket). Latency: emit → receive in the client,',
      `${cell(r.rate, n)} events/s to random user_<i> for ${cell(r.seconds)} s through the publish API, every event delivered. The Node`,
      'client opens a new TCP connection for each poll (its XMLHttpRequest has no keep-alive), on both servers alike.', '',
      `| measure | nudged | ${P} | ${P} / nudged |`, '| --- | ---: | ---: | ---: |',
      row('idle long-polling client (RSS)', a.polling?.perClientB, b.polling?.perClientB, bytes),
      row('idle upgraded client (RSS)', a.upgraded?.perClientB, b.upgraded?.perClientB, bytes),
      row('long-polling latency p50', a.polling?.p50, b.polling?.p50, us),
      row('long-polling latency p99', a.polling?.p99, b.polling?.p99, us),
      row('long-polling latency max', a.polling?.max, b.polling?.max, us),
      row('upgraded latency p50', a.upgraded?.p50, b.upgraded?.p50, us),
      row('upgraded latency p99', a.upgraded?.p99, b.upgraded?.p99, us), '');
  }
  if (ran('scaleout')) {
    const S = N.scaleout;
    const a = nudged.scaleout ?? {};
    const b = peer.scaleout ?? {};
    const us = (v) => `${n(Math.round(v))} µs`;
    const f2us = (v) => `${fmt2(v)} µs`;
    const bytes = (v) => `${n(v)} B`;
    const row = (what, x, y, f, better) => `| ${what} | ${cell(x, f)} | ${cell(y, f)} | ${better(x, y)} |`;
    const lower = (x, y) => ratio(y, x); // lower is better: how many times less nudged needs
    const higher = (x, y) => ratio(x, y);
    const share = (r) => (r?.events > 0 ? (r.redisCpuMs * 1000) / r.events : null); // Redis µs per delivery
    const perCpu = (r) => (r?.cpuUsPerDelivery > 0 ? 1e6 / r.cpuUsPerDelivery : null);
    const cpuRatio = (r1, r2) => (perCpu(r1) && perCpu(r2) ? perCpu(r1) / perCpu(r2) : null);
    const targetedRatio = cpuRatio(a.targeted, b.targeted);
    const broadcastRatio = cpuRatio(a.broadcast, b.broadcast);
    const verdict = (v, goal) => (v === null ? 'not measured' : v >= goal ? 'met' : 'not met');
    const p99Ms = a.targeted?.p99 !== undefined && a.targeted?.p99 !== null ? a.targeted.p99 / 1000 : null;
    lines.push(`## Scale-out on Redis (${S.hubs} hubs on one redis-server, ${n(S.clients)} clients spread evenly over them)`, '',
      `Each server ran as ${S.hubs} processes on one redis-server started for the phase (\`--save '' --appendonly no\`):`,
      `nudged with \`--broker redis://…\`, ${P} with \`@socket.io/redis-adapter\` (\`--redis redis://…\`). Every client is in`,
      `user_<i> and "all"; nudge-loadgen held them from ${cell(a.loadgens ?? b.loadgens)} processes (≤ ${n(LOADGEN_MAX_CLIENTS)} clients each, each on`,
      'its own 127.0.0.x source addresses). In one session per server: the hubs\' RSS per idle client 3 s after the last',
      `connected; then ${n(S.rate)} events/s to random user_<i> for ${S.seconds} s, published over ${S.connections} keep-alive connections`,
      'spread round-robin over the hubs\' POST /api/v1/emit (emit → receive in the load generators, every event',
      `checked delivered); then ${S.rounds} broadcasts to "all", 4 a second, through the first hub. CPU is the user+system time`,
      'of every hub and of redis-server together, from just before the publisher starts until the last delivery;',
      '"above the idle CPU" subtracts what the same processes spent per second in the 3 s idle window (heartbeats, and',
      'for a server still busy with its connect storm, that too). When 4 broadcasts a second ask for more deliveries than',
      'the machine makes (4 × the clients per second), "delivered per second" is the throughput reached and the',
      'broadcast latency is mostly the queue behind it.',
      `The machine has ${cpus().length} cores shared with everything else running on it, load generators included.`, '',
      `| measure | nudged | ${P} | nudged vs ${P} |`, '| --- | ---: | ---: | ---: |',
      row('clients held', a.held, b.held, n, () => ''),
      row('idle memory per client (RSS of all hubs)', a.perClientB, b.perClientB, bytes, lower),
      row('Redis RSS growth per client', a.redisPerClientB, b.redisPerClientB, bytes, lower),
      row('idle CPU of hubs + Redis (3 s after the last client connected)', a.idleCpuMsPerS, b.idleCpuMsPerS,
        (v) => `${fmt1(v)} ms/s`, lower),
      row(`targeted: publish rate reached (of ${n(S.rate)}/s)`, a.targeted?.publishedPerS, b.targeted?.publishedPerS, n, () => ''),
      row('targeted: delivered', a.targeted?.events, b.targeted?.events, n, () => ''),
      row('targeted: latency p50', a.targeted?.p50, b.targeted?.p50, us, lower),
      row('targeted: latency p99', a.targeted?.p99, b.targeted?.p99, us, lower),
      row('targeted: latency p99.9', a.targeted?.p999, b.targeted?.p999, us, lower),
      row('targeted: latency max', a.targeted?.max, b.targeted?.max, us, lower),
      row('targeted: CPU per delivery (hubs + Redis)', a.targeted?.cpuUsPerDelivery, b.targeted?.cpuUsPerDelivery, f2us, lower),
      row('targeted: of which Redis', share(a.targeted), share(b.targeted), f2us, () => ''),
      row('targeted: CPU per delivery above the idle CPU', a.targeted?.aboveIdleUsPerDelivery, b.targeted?.aboveIdleUsPerDelivery, f2us, lower),
      row('broadcast: delivered', a.broadcast?.events, b.broadcast?.events, n, () => ''),
      row('broadcast: delivered per second', a.broadcast?.deliveredPerS, b.broadcast?.deliveredPerS, n, higher),
      row('broadcast: CPU per delivery (hubs + Redis)', a.broadcast?.cpuUsPerDelivery, b.broadcast?.cpuUsPerDelivery, f2us, lower),
      row('broadcast: of which Redis', share(a.broadcast), share(b.broadcast), f2us, () => ''),
      row('broadcast: CPU per delivery above the idle CPU', a.broadcast?.aboveIdleUsPerDelivery, b.broadcast?.aboveIdleUsPerDelivery, f2us, lower),
      row('broadcast: deliveries per CPU-second', a.broadcast?.deliveriesPerCpuS, b.broadcast?.deliveriesPerCpuS, n, higher),
      row('broadcast: last client after the last publish', a.broadcast?.lastClientMs, b.broadcast?.lastClientMs, (v) => `${fmt1(v)} ms`, lower),
      row('broadcast: latency p99', a.broadcast?.p99, b.broadcast?.p99, us, lower), '',
      `Goal (issue 11): ≥ 3× ${P}'s delivered throughput per CPU, p99 ≤ 5 ms at 5,000 targeted events/s (this run: ${n(S.rate)}/s).`,
      `- Deliveries per CPU-second, nudged / ${P}: broadcast ${cell(broadcastRatio, (v) => `${fmt2(v)}×`)} (${verdict(broadcastRatio, 3)}), `
        + `targeted ${cell(targetedRatio, (v) => `${fmt2(v)}×`)} (${verdict(targetedRatio, 3)}).`,
      `- p99 of nudged at ${n(S.rate)} targeted events/s: ${cell(p99Ms, (v) => `${fmt2(v)} ms`)} (${p99Ms === null ? 'not measured' : p99Ms <= 5 ? 'met' : 'not met'}).`, '',
      `Load generator CPU: ${cell(a.loadgenCpuS)} s (nudged), ${cell(b.loadgenCpuS)} s (${P}); publisher CPU (targeted): `
        + `${cell(a.targeted?.publisherCpuS)} s, ${cell(b.targeted?.publisherCpuS)} s.`, '');
  }
  if (ran('herd')) lines.push(...herdReport(results.herd, n));
  if (ran('recovery') && results.recovery) {
    const { fanout: fan, history } = results.recovery;
    const runs = (list) => list.map((v) => cell(v, fmt2)).join(', ');
    lines.push('## Connection-state recovery: what it costs (nudged alone, same run)', '',
      `Broadcast fan-out as above (room "all", ${FANOUT_ROUNDS} publishes 250 ms apart) on nudged started with \`--recovery on\``,
      `and with \`--recovery off\`, ${N.recoveryRuns > 1 ? `alternated (on, off, off, on), ${N.recoveryRuns} runs each, pooled` : 'one run each'}. Target: on / off ≤ 1.10.`, '',
      '| clients | events per publish | CPU/delivery, recovery on | recovery off | on / off | runs, on; off (µs) |',
      '| ---: | ---: | ---: | ---: | ---: | --- |',
      ...fan.map((f) => `| ${n(f.clients)} | ${f.burst} | ${cell(f.on, (v) => `${fmt2(v)} µs`)} | ${cell(f.off, (v) => `${fmt2(v)} µs`)} | ${ratio(f.on, f.off)} | ${runs(f.onRuns)}; ${runs(f.offRuns)} |`), '',
      `History memory: ${n(N.history)} events with ${HISTORY_DATA_BYTES} bytes of data each, published in batches of 100 to rooms`,
      'without clients on a hub that keeps them all (`--history-size` as large, `--history-ttl 3600`).', '',
      '| rooms per event | events kept | nudge_history_bytes per 1k events | RSS growth per 1k events |',
      '| ---: | ---: | ---: | ---: |',
      ...history.map((h) => `| ${h?.rooms ?? '—'} | ${cell(h?.events, n)} | ${cell(h?.historyBytesPer1k, (v) => `${n(Math.round(v / 1024))} KiB`)} | ${cell(h?.rssBytesPer1k, (v) => `${n(Math.round(v / 1024))} KiB`)} |`), '');
  }
  if (ran('micro')) {
    lines.push('## Hot paths (Google Benchmark, bench/micro/hot_paths.cpp, CPU time per operation)', '',
      '| benchmark | ns | items/s |', '| --- | ---: | ---: |',
      ...results.micro.map((m) => `| ${m.name} | ${m.ns.toFixed(1)} | ${m.itemsPerS ? Math.round(m.itemsPerS).toLocaleString('en-US') : ''} |`), '');
  }
  return lines;
}

const pngPath = () => `${dirname(reportPath)}/results.png`;

// How many times better nudged is, per scenario that ran (higher is better for nudged).
function plot() {
  const nudged = results.nudged;
  const peer = results['socket.io'];
  const mid = Math.min(1, N.memory.length - 1);
  const bars = [
    [`memory ${N.memory[mid] / 1000}k`, () => peer.memory[mid].perClientB / nudged.memory[mid].perClientB],
    ['cpu/delivery', () => peer.fanout[0].cpuUsPerDelivery / nudged.fanout[0].cpuUsPerDelivery],
    ['targeted', () => nudged.targeted[0].deliveredPerS / peer.targeted[0].deliveredPerS],
    ['targeted x4 conn', () => nudged.targeted[1].deliveredPerS / peer.targeted[1].deliveredPerS],
    ['targeted x100', () => nudged.targeted[2].deliveredPerS / peer.targeted[2].deliveredPerS],
    ['p99 latency', () => peer.latency[0].p99 / nudged.latency[0].p99],
    ['connect storm', () => peer.storm.connectMs / nudged.storm.connectMs],
    ['polling memory', () => peer.polling.polling.perClientB / nudged.polling.polling.perClientB],
    ['polling p99', () => peer.polling.polling.p99 / nudged.polling.polling.p99],
    ['scale-out broadcast/CPU', () => peer.scaleout.broadcast.cpuUsPerDelivery / nudged.scaleout.broadcast.cpuUsPerDelivery],
    ['scale-out targeted p99', () => peer.scaleout.targeted.p99 / nudged.scaleout.targeted.p99],
  ].map(([name, value]) => { try { return [name, value()]; } catch { return [name, NaN]; } })
    .filter(([, v]) => Number.isFinite(v) && v > 0);
  rmSync(pngPath(), { force: true });
  if (!bars.length) return;
  const dat = `${buildDir}/ratios.dat`;
  writeFileSync(dat, bars.map(([name, v]) => `"${name}" ${v.toFixed(3)}`).join('\n') + '\n');
  execFileSync('gnuplot', ['-e', [
    "set terminal pngcairo noenhanced size 900,420 font 'DejaVu Sans,10'",
    `set output '${pngPath()}'`,
    `set title 'nudged vs ${PEER_NAME.replace(/'/g, '')}, same run (how many times better; 1 = equal)'`,
    'set style fill solid 0.8', 'set boxwidth 0.6', 'set grid ytics', 'set logscale y',
    // Below the smallest bar, so a ratio under 0.5 still shows (gnuplot fails on a plot with none).
    `set yrange [${Math.min(0.5, Math.min(...bars.map(([, v]) => v)) / 2)}:*]`,
    'unset key', "set ylabel 'ratio (log scale)'",
    `plot '${dat}' using 0:2:xtic(1) with boxes lc rgb '#2f7ed8', '' using 0:2:(sprintf('%.1fx', $2)) with labels offset 0,1`,
  ].join('; ')], { timeout: 60000 });
}

const elapsed = () => {
  const s = Math.round((Date.now() - started) / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
};

build();
// Scenario by scenario, both servers back to back, so a noisy neighbour hits both alike.
const perServer = [['memory', idleMemory], ['fanout', fanout], ['targeted', targeted], ['latency', latency],
  ['storm', connectStorm], ['polling', polling], ['scaleout', scaleout]];
for (const kind of TARGETS) results[kind] = {};
try {
  for (const [name, scenario] of perServer.filter(([name]) => only.includes(name))) {
    for (const kind of TARGETS) {
      process.stdout.write(`bench: ${displayName(kind)} ${name}\n`);
      results[kind][name] = await scenario(kind);
    }
  }
  if (only.includes('recovery')) {
    process.stdout.write('bench: nudged recovery on/off\n');
    results.recovery = await recovery();
  }
  if (only.includes('herd')) {
    process.stdout.write('bench: nudged herd\n');
    results.herd = await herd({
      root, nudged: NUDGED, secret: SECRET, apiKey: API_KEY, smoke, within, freePort, n,
      clients: opts['herd-clients'] ? Number(opts['herd-clients']) : undefined,
      rate: opts['herd-rate'] ? Number(opts['herd-rate']) : undefined,
      check: (condition, message) => check(condition, message),
      phase: (label, fn) => phase('nudged', label, fn),
    });
  }
  if (only.includes('floor') || only.includes('fanout')) results.floor = await floor();
  if (only.includes('floor') || only.includes('targeted')) results.targetedFloor = await targetedFloor();
  if (only.includes('micro')) results.micro = await micro();
} catch (e) {
  if (!(e instanceof Fatal)) throw e;
}
console.log(JSON.stringify(results, null, 1));
if (findings.length) console.log(`bench: ${findings.length} finding(s) about ${PEER_NAME}:\n  ${findings.join('\n  ')}`);
if (failures.length) {
  console.error(`bench: ${failures.length} check(s) failed after ${elapsed()}:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
if (reportPath) {
  mkdirSync(dirname(reportPath), { recursive: true });
  plot();
  writeFileSync(reportPath, reportLines((Date.now() - started) / 1000).join('\n'));
}
console.log(`bench: ${smoke ? 'smoke ok' : 'done'} in ${elapsed()}${reportPath ? `; report: ${reportPath}` : ''}`);
