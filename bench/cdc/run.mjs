#!/usr/bin/env node
// bench/cdc/run.mjs (make bench BENCH_ONLY=cdc): nudge-cdc end to end, on one machine, in one run.
//   1. commit → client receive latency, p50/p99, at 1,000 and 2,000 transactions/s: one-row
//      transactions written by psql at a steady rate, each row stamped by Postgres
//      (clock_timestamp() inside the transaction, so just before its commit); a real
//      socket.io-client receives the events through nudged and subtracts the stamp on arrival;
//   2. nudge-cdc's CPU per change in those phases (utime + stime from /proc over the phase);
//   3. decode throughput: two slots created at the same position before a backlog of
//      200 transactions × 1,000 rows is committed; Postgres' own pg_recvlogical (to /dev/null)
//      and nudge-cdc (with a rule that matches no row, so it decodes and applies rules but
//      publishes nothing) each read their slot to the same end position, one after the other.
// Uses the binaries of `make build` (build/nudged, build/nudge-cdc). Writes bench/cdc/RESULTS.md
// (or --report PATH). No assertion on timing: the goals are printed next to the numbers.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startHub, seedClient, connected, token, API_KEY, sleep } from '../../tests/integration/lib/hub.mjs';
import { startPostgres, startCdc, PG_BIN } from '../../tests/cdc/lib/postgres.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values: opts } = parseArgs({ options: {
  report: { type: 'string', default: join(root, 'bench/cdc/RESULTS.md') },
  seconds: { type: 'string', default: '20' },
  smoke: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} });
if (opts.help) {
  console.log(`usage: bench/cdc/run.mjs [--seconds N] [--report PATH] [--smoke]
  --seconds N    length of each latency phase (default 20)
  --report PATH  where to write the report (default bench/cdc/RESULTS.md; not with --smoke)
  --smoke        100 tx/s for 2 s and a small backlog: checks that the bench runs
Binaries: build/nudged and build/nudge-cdc, or NUDGED_BIN and NUDGE_CDC_BIN; Postgres from
PG_BIN (default /usr/lib/postgresql/15/bin). nudge-cdc's own NUDGE_CDC_* variables (e.g.
NUDGE_CDC_BATCH_WAIT) reach both nudge-cdc processes.`);
  process.exit(0);
}
const SECONDS = opts.smoke ? 2 : Number(opts.seconds);
const RATES = opts.smoke ? [100] : [1000, 2000];
const BACKLOG = opts.smoke ? { txs: 5, rows: 100 } : { txs: 200, rows: 1000 };
const commit = execFileSync('git', ['describe', '--always', '--dirty'], { cwd: root, encoding: 'utf8' }).trim();

function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;  // USER_HZ = 100
}
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (v) => Math.round(v * 100) / 100;
const asRoot = process.getuid?.() === 0;
const pgRun = (bin, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args]] : [join(PG_BIN, bin), args]);

const dir = mkdtempSync(join(tmpdir(), 'nudge-cdc-bench-'));
const pg = await startPostgres();
const cleanup = [() => pg.destroy()];
try {
  await pg.sql(`CREATE TABLE bench (id bigserial PRIMARY KEY, user_id int NOT NULL, stamp float8 NOT NULL);
    CREATE TABLE backlog (id bigserial PRIMARY KEY, user_id int NOT NULL, payload text);
    CREATE PUBLICATION nudge FOR TABLE bench, backlog;`);
  const rules = join(dir, 'rules.toml');
  writeFileSync(rules, `[[rule]]
table = "bench"
on = ["insert"]
event = "row"
rooms = ["user_{user_id}"]
data = ["id", "stamp"]

[[rule]]
table = "backlog"
on = ["insert"]
where = { user_id = -1 }
event = "never"
rooms = ["user_{user_id}"]
data = ["id"]
`);
  const hub = await startHub();
  cleanup.push(() => hub.stop());
  const url = `postgresql:///postgres?host=${encodeURIComponent(pg.dir)}&port=${pg.port}&user=postgres`;
  const cdc = startCdc(['--postgres', url, '--rules', rules, '--hub', hub.url, '--api-key', API_KEY,
    '--metrics-port', '0', '--log-level', 'warn']);
  cleanup.push(() => cdc.kill());
  await sleep(100);
  const metricsPort = async () => {
    for (;;) {
      // --log-level warn hides the metrics line: ask the process's listening sockets instead.
      const out = execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' });
      const line = out.split('\n').find((l) => l.includes(`pid=${cdc.child.pid},`));
      if (line) return Number(/:(\d+)\s/.exec(line)[1]);
      await sleep(50);
    }
  };
  const port = await metricsPort();
  // The walsender serving nudge-cdc: its CPU per change is shown next to nudge-cdc's (status
  // updates and keepalives cost it too).
  let walsender = 0;
  while (!walsender) {
    walsender = Number(await pg.sql("SELECT pid FROM pg_stat_replication WHERE application_name = 'nudge-cdc'"));
    if (!walsender) await sleep(50);
  }
  const metric = async (name) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)[1]);
  };

  const client = seedClient(hub.url, token('1'));
  const latencies = [];
  // Sub-millisecond wall clock on receipt (Date.now() truncates to whole milliseconds).
  client.on('row', (data) => { latencies.push(performance.timeOrigin + performance.now() - data.stamp); });
  await connected(client);
  cleanup.push(() => client.close());

  // A psql process kept open; statements written to its stdin at the phase's rate.
  const [file, argv] = pgRun('psql', ['-h', pg.dir, '-p', String(pg.port), '-U', 'postgres', '-X', '-q', '-v',
    'ON_ERROR_STOP=1', '-f', '-']);
  const psql = spawn(file, argv, { stdio: ['pipe', 'ignore', 'inherit'] });
  cleanup.push(() => psql.stdin.end());
  const insert = "INSERT INTO bench (user_id, stamp) VALUES (1, extract(epoch FROM clock_timestamp()) * 1000);\n";

  const results = { latency: [], decode: null };
  for (const rate of RATES) {
    latencies.length = 0;
    const total = rate * SECONDS;
    const changesBefore = await metric('nudge_cdc_changes_total');
    const batchesBefore = await metric('nudge_cdc_batches_published_total');
    const cpuBefore = cpuMs(cdc.child.pid);
    const walsenderBefore = cpuMs(walsender);
    const t0 = Date.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * rate));
      if (due > sent) {
        psql.stdin.write(insert.repeat(due - sent));
        sent = due;
      }
      await sleep(2);
    }
    const sendSeconds = (Date.now() - t0) / 1000;
    const deadline = Date.now() + 60000;
    while (latencies.length < total && Date.now() < deadline) await sleep(20);
    const cpu = cpuMs(cdc.child.pid) - cpuBefore;
    const walsenderCpu = cpuMs(walsender) - walsenderBefore;
    const changes = (await metric('nudge_cdc_changes_total')) - changesBefore;
    const requests = (await metric('nudge_cdc_batches_published_total')) - batchesBefore;
    const sorted = [...latencies].sort((a, b) => a - b);
    results.latency.push({
      rate, sent: total, received: latencies.length, achievedRate: Math.round(total / sendSeconds),
      p50: ms(pct(sorted, 50)), p99: ms(pct(sorted, 99)), max: ms(sorted.at(-1)),
      cpuUsPerChange: Math.round((cpu * 1000 / changes) * 10) / 10, changes,
      walsenderUsPerChange: Math.round((walsenderCpu * 1000 / changes) * 10) / 10,
      load: loadavg()[0].toFixed(1),
      eventsPerRequest: Math.round((changes / requests) * 10) / 10,
    });
    console.log('bench cdc latency', JSON.stringify(results.latency.at(-1)));
  }
  psql.stdin.end();
  // The latency phases' nudge-cdc reads the same publication: left running, it and its
  // walsender would decode the backlog below at the same time as the first reader timed
  // (pg_recvlogical), on the same cores, and the comparison would favour the second.
  await cdc.kill();

  // Decode throughput: both slots at the same position, then the backlog.
  await pg.sql(`SELECT pg_create_logical_replication_slot('bench_recv', 'pgoutput');
                SELECT pg_create_logical_replication_slot('bench_cdc', 'pgoutput');`);
  let script = '';
  for (let t = 0; t < BACKLOG.txs; t++) {
    script += `INSERT INTO backlog (user_id, payload) SELECT g % 100, md5(g::text) FROM generate_series(1, ${BACKLOG.rows}) g;\n`;
  }
  await pg.psqlScript(script);
  const endpos = await pg.sql('SELECT pg_current_wal_lsn()');
  const changes = BACKLOG.txs * BACKLOG.rows;

  let t0 = Date.now();
  const [rfile, rargs] = pgRun('pg_recvlogical', ['-h', pg.dir, '-p', String(pg.port), '-U', 'postgres',
    '-d', 'postgres', '--slot', 'bench_recv', '--start', '--endpos', endpos, '-o', 'proto_version=1',
    '-o', 'publication_names=nudge', '-f', '/dev/null', '--no-loop']);
  const recv = spawn(rfile, rargs, { stdio: 'inherit' });
  await new Promise((resolve) => recv.on('exit', resolve));
  const recvSeconds = (Date.now() - t0) / 1000;

  const lsnValue = (text) => { const [hi, lo] = text.split('/'); return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`); };
  const target = lsnValue(endpos);
  t0 = Date.now();
  const reader = startCdc(['--postgres', url, '--rules', rules, '--hub', hub.url, '--api-key', API_KEY,
    '--slot', 'bench_cdc', '--metrics-port', '0', '--status-interval', '1']);
  cleanup.push(() => reader.kill());
  const readerPort = Number((await reader.waitFor(/metrics on http:\/\/[\d.]+:(\d+)/))[1]);
  const cpuStart = cpuMs(reader.child.pid);
  for (;;) {
    const text = await (await fetch(`http://127.0.0.1:${readerPort}/metrics`)).text();
    if (BigInt(/^nudge_cdc_confirmed_lsn (\d+)$/m.exec(text)[1]) >= target) break;
    await sleep(10);
  }
  const cdcSeconds = (Date.now() - t0) / 1000;
  const cdcCpu = cpuMs(reader.child.pid) - cpuStart;
  results.decode = {
    changes, recvSeconds, cdcSeconds,
    recvPerS: Math.round(changes / recvSeconds), cdcPerS: Math.round(changes / cdcSeconds),
    ratio: Math.round((recvSeconds / cdcSeconds) * 100) / 100,
    cdcCpuUsPerChange: Math.round((cdcCpu * 1000 / changes) * 100) / 100,
  };
  console.log('bench cdc decode', JSON.stringify(results.decode));

  const L = results.latency;
  const D = results.decode;
  const lines = [
    '# nudge-cdc benchmark',
    '',
    `Commit ${commit}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} cores ` +
    `(load average ${loadavg()[0].toFixed(1)} at the end: the machine was shared with other builds and tests; ` +
    'the numbers are one run on a busy machine, not a quiet one). `make bench BENCH_ONLY=cdc` (bench/cdc/run.mjs).',
    '',
    'Postgres 15 (Debian, `wal_level=logical`, `fsync=off`), nudged and nudge-cdc',
    'from `make build`, one socket.io-client in the same Node process as the writer.',
    '',
    '## Commit → client receive',
    '',
    `One-row transactions written by psql at a steady rate for ${SECONDS} s; each row is stamped by`,
    'Postgres inside its transaction (`clock_timestamp()`, just before the commit) and the client',
    'subtracts the stamp on receipt. CPU: nudge-cdc\'s user + system time over the phase / changes.',
    '',
    '| rate (tx/s) | achieved | events received | events per publish request | p50 | p99 | max | nudge-cdc CPU per change | its walsender\'s CPU per change | load at the end | goal |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...L.map((r) => `| ${r.rate} | ${r.achievedRate} | ${r.received} / ${r.sent} | ${r.eventsPerRequest} | ${r.p50} ms | ` +
      `${r.p99} ms | ${r.max} ms | ${r.cpuUsPerChange} µs | ${r.walsenderUsPerChange} µs | ${r.load} | p99 ≤ 50 ms, ≤ 20 µs |`),
    '',
    '## Decode throughput against pg_recvlogical',
    '',
    `${BACKLOG.txs} transactions × ${BACKLOG.rows} rows committed while two slots, created at the same`,
    'position, waited (the latency phases\' nudge-cdc stopped first, so that no third slot decodes the',
    'backlog meanwhile); then each reader ran alone to the same end position: `pg_recvlogical`',
    '(pgoutput, to /dev/null, `--endpos`) and nudge-cdc (rules applied to every row, none matching,',
    'so nothing is published; done when its confirmed position reaches the end). Both times include',
    'Postgres\' own decoding in the walsender, which both readers wait for.',
    '',
    '| reader | seconds | changes/s |',
    '|---|---|---|',
    `| pg_recvlogical | ${D.recvSeconds.toFixed(2)} | ${D.recvPerS} |`,
    `| nudge-cdc | ${D.cdcSeconds.toFixed(2)} | ${D.cdcPerS} |`,
    '',
    `nudge-cdc / pg_recvlogical throughput: **${D.ratio}×** (goal ≥ 0.8×); nudge-cdc CPU while`,
    `decoding: ${D.cdcCpuUsPerChange} µs per change.`,
    '',
    '## Reading the numbers',
    '',
    '- CPU per change in the latency phases is mostly per *publish request*, not per change:',
    '  while changes keep coming, nudge-cdc sleeps out the `--batch-wait` window (10 ms by default),',
    '  reads everything that arrived in it, sends one request and sleeps out the next window; a',
    '  request with its wake-ups (the loopback TCP send to the hub, the wait for its 202, the',
    '  sleep) costs far more on a loaded 2-core machine than decoding and matching a change, which',
    '  the decode row measures in bulk. More events per request (a longer `--batch-wait`, or a',
    '  higher rate) is what lowers it; the scheduler\'s share of a busy machine shows as system time.',
    '- The walsender column is Postgres\' own CPU for the same changes (decoding each one-row',
    '  transaction and sending it), for scale: it is several times nudge-cdc\'s.',
    '- p99 and max include the scheduling delays of a shared machine (the load column): the p50',
    '  is the path itself (commit, walsender, nudge-cdc, hub, client) plus half a window on average.',
    '',
  ];
  if (!opts.smoke) writeFileSync(opts.report, lines.join('\n'));
  console.log(lines.join('\n'));
} finally {
  for (const step of cleanup.reverse()) {
    try { await step(); } catch { /* best effort */ }
  }
  process.exit(0);
}
