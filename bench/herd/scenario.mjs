// bench/herd/scenario.mjs: the `herd` scenario of bench/run.mjs (issue 23). One event to a room of
// `clients` real @nudge/query-core clients (bench/herd/clients.mjs, over several Node processes,
// one WebSocket each), all observing one key served by bench/herd/origin.mjs, which counts the
// requests that reach it per 50 ms. Rows, each on fresh processes:
//   control      no spread: every client refetches as soon as the event arrives;
//   window       the event carries "spread": WINDOW_MS;
//   rate         nudged --refetch-rate RATE derives the window from the room's member count;
//   collapse     no spread, the clients refetch `?nudge_v=<the event's version>` through nginx
//                with deploy/nginx/api-collapse.conf (proxy_cache_lock) in front of the origin;
//   restart      nudged --refetch-rate RATE is stopped (SIGTERM) and started again on the same
//                port after a write: every client reconnects, is told to resync, and refetches.
// For each: the origin's peak (requests in the busiest 1 s, and the busiest 50 ms bin × 20),
// its total requests, and when each client showed the new data (ms after the publish, or after
// the SIGTERM): p50 / p95 / max. Every client must end fresh; that is checked, timing is not.
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { localize, startNginx } from '../../tests/integration/lib/nginx.mjs';

export const WINDOW_MS = 5000;
// Events each client takes before the measured one. The client processes stand in for 10,000
// devices, each of which takes its event in parallel with the others; here they take them one
// after another on a few cores, so code that V8 has not compiled yet (the first event through
// socket.io-client, engine.io and the nudge core) would make the herd arrive later than it
// would on real devices. A device that has been open a while has run that code already.
const WARMUPS = 3;
const NGINX_WORKERS = 2;

// ctx: { root, nudged, secret, apiKey, smoke, phase(label, fn), within(ms, what, p), freePort(),
//        check(cond, message), n(x) }
// ctx.clients / ctx.rate override the size (default 10,000 clients, smoke 40) and the refetch
// rate (default 2,000/s): a machine too small for 10,000 clients shows the mechanism at fewer
// with the same window (e.g. 2,000 clients at 400/s: 5 s).
export async function herd(ctx) {
  const { smoke, nudged } = ctx;
  const clients = ctx.clients ?? (smoke ? 40 : 10000);
  const RATE = ctx.rate ?? 2000;
  const processes = smoke ? 2 : 4;
  const help = await helpText(nudged);
  const hasSpread = help.includes('--refetch-rate');
  const rows = [];
  const loadBefore = loadavg()[0];
  const plan = [
    ['control', 'no spread (control)', {}],
    ['window', `spread by window ("spread": ${WINDOW_MS})`, { spread: WINDOW_MS, needs: true }],
    ['rate', `spread by --refetch-rate ${RATE}`, { hubArgs: ['--refetch-rate', String(RATE)], needs: true }],
    ['collapse', 'collapse through nginx (nudge_v, proxy_cache_lock)', { nginx: true }],
    ['restart', `hub restart, --refetch-rate ${RATE}${hasSpread ? '' : ' (not in this build: plain restart)'}`,
      { hubArgs: hasSpread ? ['--refetch-rate', String(RATE)] : [], restart: true }],
  ];
  for (const [key, label, opts] of plan) {
    if (opts.needs && !hasSpread) {
      rows.push({ key, label, skipped: 'this nudged has no spread (--refetch-rate is not in its --help)' });
      continue;
    }
    process.stdout.write(`bench: nudged herd ${key}\n`);
    rows.push({ key, label, ...(await ctx.phase(`herd ${key}`, (p) => runRow(ctx, p, { clients, processes, ...opts }))) });
  }
  return { clients, processes, rows, rate: RATE, cores: cpus().length, load: [loadBefore, loadavg()[0]] };
}

async function helpText(nudged) {
  const { execFileSync } = await import('node:child_process');
  try {
    return execFileSync(nudged, ['--help'], { encoding: 'utf8' });
  } catch (e) {
    return String(e.stdout ?? '');
  }
}

// Spawns `cmd args` in `phase` and resolves with the URL of its "listening on" line.
async function listening(ctx, phase, what, cmd, args) {
  const { child, exited } = phase.spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await ctx.within(60000, `${what} listening`, new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (match) resolve(match[1]);
    });
    exited.then((code) => reject(new Error(`${what} exited (${code}) before listening: ${out}`)));
  }));
  child.stdout.resume();
  return { url, child, exited };
}

const post = async (url, body) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? '' : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return res.json();
};

async function runRow(ctx, phase, { clients, processes, hubArgs = [], spread = 0, nginx = false, restart = false }) {
  const origin = await listening(ctx, phase, 'origin', process.execPath, [`${ctx.root}/bench/herd/origin.mjs`, '--delay-ms', '20']);
  let api = origin.url;
  let dir;
  let proxy;
  if (nginx) {
    dir = mkdtempSync(join(tmpdir(), 'nudge-herd-nginx-'));
    mkdirSync(join(dir, 'cache'));
    const port = await ctx.freePort();
    const site = localize('api-collapse.conf', {
      'cache path': `proxy_cache_path ${dir}/cache levels=1:2 keys_zone=nudge_api:10m max_size=64m inactive=10m use_temp_path=off;`,
      origin: `    server ${new URL(origin.url).host};`,
      port: `    listen 127.0.0.1:${port};`,
    });
    api = `http://127.0.0.1:${port}`;
    proxy = await startNginx(dir, site, {
      workers: NGINX_WORKERS,
      connections: clients + 2048,
      ready: async () => (await fetch(`${api}/api/rates`)).ok,
      spawnWith: (cmd, args, options) => phase.spawn(cmd, args, options).child,
    });
  }
  try {
    return await measure(ctx, phase, { clients, processes, hubArgs, spread, nginx, restart, origin, api });
  } finally {
    await proxy?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(ctx, phase, { clients, processes, hubArgs, spread, nginx, restart, origin, api }) {
  const port = await ctx.freePort();
  const hubArgv = ['--host', '127.0.0.1', '--port', String(port), '--jwt-secret', ctx.secret, '--api-key', ctx.apiKey,
    '--recovery', 'on', '--log-level', 'info', ...hubArgs];
  let hub = await listening(ctx, phase, 'nudged', ctx.nudged, hubArgv);
  const per = Math.ceil(clients / processes);
  const procs = [];
  for (let k = 0; k < processes; k++) {
    const count = Math.min(per, clients - k * per);
    const { child } = phase.spawn(process.execPath, [`${ctx.root}/bench/herd/clients.mjs`, '--hub', hub.url,
      '--api', api, '--secret', ctx.secret, '--count', String(count), '--first', String(k * per),
      ...(nginx ? ['--versioned'] : [])], { stdio: ['pipe', 'pipe', 'inherit'] });
    procs.push(lines(child));
  }
  const ready = await ctx.within(180000, 'herd clients ready', Promise.all(procs.map((p) => p.next((m) => 'ready' in m))));
  const notReady = ready.filter((r) => !r.ready);
  if (notReady.length) throw new Error(`herd clients not ready: ${JSON.stringify(notReady)}`);

  await warmUp(ctx, hub, procs, spread);
  await post(`${origin.url}/control/reset`);
  const { gen } = await post(`${origin.url}/control/bump`);
  const t0 = Date.now();
  for (const p of procs) p.send({ expect: { gen, t0 } });
  let downMs = null;
  if (restart) {
    hub.child.kill('SIGTERM');
    await ctx.within(30000, 'nudged stopping', hub.exited);
    downMs = Date.now() - t0;
    hub = await listening(ctx, phase, 'nudged (restarted)', ctx.nudged, hubArgv);
  } else {
    await publish(ctx, hub, { event: 'rates_changed', room: 'rates', data: { v: gen }, ...(spread ? { spread } : null) });
  }
  // Until every client is fresh (each process reports its count every 250 ms), or a deadline.
  const deadline = Date.now() + (ctx.smoke ? 30000 : 90000) + 2 * WINDOW_MS;
  while (procs.reduce((sum, p) => sum + (p.state?.fresh ?? 0), 0) < clients && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const p of procs) p.send({ report: true });
  const reports = await ctx.within(30000, 'herd reports', Promise.all(procs.map((p) => p.next((m) => m.report))));
  const stats = await (await fetch(`${origin.url}/control/stats`)).json();
  for (const p of procs) p.end();

  const lat = reports.flatMap((r) => r.lat).sort((a, b) => a - b);
  const got = reports.flatMap((r) => r.got).sort((a, b) => a - b);
  const fresh = lat.length;
  ctx.check(fresh === clients, `herd: ${fresh} of ${clients} clients showed the new data`);
  // Through nginx every refetch names one version: at most one origin request per nginx worker.
  if (nginx) ctx.check(stats.total <= NGINX_WORKERS, `herd collapse: the origin got ${stats.total} requests (at most ${NGINX_WORKERS})`);
  const pct = (q) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] : null);
  const bins = new Map(stats.bins);
  let peakBin = 0;
  for (const c of bins.values()) peakBin = Math.max(peakBin, c);
  // The busiest second: the largest sum of 20 consecutive 50 ms bins.
  let peakSecond = 0;
  for (const [start] of stats.bins) {
    let sum = 0;
    for (let t = start; t < start + 1000; t += 50) sum += bins.get(t) ?? 0;
    peakSecond = Math.max(peakSecond, sum);
  }
  return {
    fresh, total: stats.total, peakSecond, peakBinPerS: peakBin * 20,
    p50: pct(0.5), p95: pct(0.95), max: lat.at(-1) ?? null, downMs,
    // The hub's part: when the last client had the event (nothing for a restart).
    gotMax: got.at(-1) ?? null,
    // The origin's requests per 50 ms bin, [ms after the publish (restart: the SIGTERM), count].
    bins: stats.bins.map(([t, c]) => [t - t0, c]),
  };
}

// One event through the hub's publish API; anything but 202 fails the row.
async function publish(ctx, hub, event) {
  const res = await fetch(`${hub.url}/api/v1/emit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.apiKey}` },
    body: JSON.stringify(event),
  });
  if (res.status !== 202) throw new Error(`publish ${event.event}: ${res.status} ${await res.text()}`);
}

// WARMUPS events that no observer's key depends on, then the window they may carry, so their
// spread timers are over before the measured event. They carry the row's spread (with
// --refetch-rate the hub gives them one anyway), so the measured event takes no path V8 has not
// compiled yet: without it, the "spread by window" row's clients took the event ~0.4 s later.
async function warmUp(ctx, hub, procs, spread) {
  for (let k = 0; k < WARMUPS; k++) {
    await publish(ctx, hub, { event: 'herd_warmup', room: 'rates', data: {}, ...(spread ? { spread } : null) });
  }
  for (const p of procs) p.send({ warmup: WARMUPS });
  await ctx.within(60000, 'herd clients warmed up', Promise.all(procs.map((p) => p.next((m) => m.warmed))));
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS + 500));
}

// Line-by-line JSON from a child: `next(pred)` resolves with the next message matching `pred`
// (or one already seen), `state` is the latest {"state"} message.
function lines(child) {
  let partial = '';
  const seen = [];
  let waiters = [];
  const api = {
    state: null,
    next: (pred) => new Promise((resolve, reject) => {
      const i = seen.findIndex(pred);
      if (i >= 0) return resolve(seen.splice(i, 1)[0]);
      waiters.push({ pred, resolve });
      child.once('close', (code) => reject(new Error(`herd clients process exited (${code})`)));
    }),
    send: (msg) => child.stdin.write(`${JSON.stringify(msg)}\n`),
    end: () => child.stdin.end(),
  };
  child.stdin.on('error', () => {});
  child.stdout.on('data', (chunk) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop();
    for (const line of parts) {
      if (!line.startsWith('{')) continue;
      const msg = JSON.parse(line);
      if (msg.state) { api.state = msg.state; continue; }
      const w = waiters.find((x) => x.pred(msg));
      if (w) {
        waiters = waiters.filter((x) => x !== w);
        w.resolve(msg);
      } else seen.push(msg);
    }
  });
  return api;
}

// The report section (bench/RESULTS.md).
export function herdReport(result, n) {
  if (!result) return [];
  const ms = (x) => (x === null || x === undefined ? '—' : `${n(Math.round(x))} ms`);
  const lines = [
    `## Herd: one event to ${n(result.clients)} clients observing one key (bench/herd, ${result.processes} Node processes)`, '',
    `Real @nudge/query-core clients (QueryClient + createNudge + socket.io-client, one WebSocket each) observe`,
    `["rates"]; the origin (bench/herd/origin.mjs, 20 ms per request) counts requests per 50 ms. One write, then`,
    `one event to the room; "fresh": ms from the publish (restart: from the SIGTERM) until a client shows the`,
    `new data. Each client has taken ${WARMUPS} events of another key first (see WARMUPS in bench/herd/scenario.mjs).`,
    `Peak: the busiest 1 s of the origin, and its busiest 50 ms bin × 20. Machine: ${result.cores} cores,`,
    `load average (1 min) ${result.load.map((l) => l.toFixed(1)).join(' at the start, ')} at the end; the clients' own`,
    `processes share those cores, so with few cores they, not the hub, set how fast a herd can refetch.`, '',
    '| Row | Origin peak (req in busiest 1 s) | Busiest 50 ms × 20 | Origin requests | Fresh p50 | p95 | max | Clients fresh | Last client had the event |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of result.rows) {
    if (r.skipped || r.fresh === undefined) {
      lines.push(`| ${r.label} | not measured: ${r.skipped ?? 'the phase failed'} | | | | | | | |`);
      continue;
    }
    const label = r.downMs === null ? r.label : `${r.label}; the hub took ${ms(r.downMs)} to stop`;
    lines.push(`| ${label} | ${n(r.peakSecond)}/s | ${n(r.peakBinPerS)}/s | ${n(r.total)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.max)} | ${n(r.fresh)} of ${n(result.clients)} | ${ms(r.gotMax)} |`);
  }
  // Issue 23's targets, read off this run (reported, not enforced: the machine sets the pace).
  const row = (key) => result.rows.find((r) => r.key === key && r.fresh !== undefined);
  const rate = row('rate');
  const RATE = result.rate;
  const collapse = row('collapse');
  const verdict = (ok) => (ok ? 'met' : 'NOT met');
  lines.push('', 'Targets (issue 23), in this run:');
  lines.push(rate
    ? `- --refetch-rate ${n(RATE)}: origin peak ${n(rate.peakSecond)}/s ≤ ${n(1.2 * RATE)}/s: ${verdict(rate.peakSecond <= 1.2 * RATE)}; `
      + `every client fresh within the window + 500 ms (${n(Math.ceil(result.clients / RATE * 1000) + 500)} ms): ${verdict(rate.max <= Math.ceil(result.clients / RATE * 1000) + 500)} (max ${ms(rate.max)})`
    : `- --refetch-rate ${n(RATE)}: not measured (see the row)`);
  lines.push(collapse
    ? `- collapse through nginx: ${n(collapse.total)} origin request(s) for the event ≤ ${NGINX_WORKERS}: ${verdict(collapse.total <= NGINX_WORKERS)}`
    : '- collapse through nginx: not measured');
  lines.push('');
  return lines;
}
