// The Grafana dashboard (deploy/grafana/nudge.json) and the Prometheus alert rules
// (deploy/prometheus/nudge-alerts.yml) against the real hub and a real Prometheus (Debian's
// `prometheus`): every metric they name exists in the hub's /metrics with the labels they match
// on, every dashboard query runs, every rule evaluates; promtool checks and unit-tests the rules.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { io } from 'socket.io-client';
import {
  startHub, seedClient, token, connected, connectError, emit, eventually, freePort, SLOW,
} from './lib/hub.mjs';

const run = promisify(execFile);
const deploy = fileURLToPath(new URL('../../deploy/', import.meta.url));
const rulesFile = join(deploy, 'prometheus/nudge-alerts.yml');
const dashboard = JSON.parse(readFileSync(join(deploy, 'grafana/nudge.json'), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'nudge-observability-'));

// --- PromQL: the vector selectors of an expression ---------------------------------------
// Grammar words, not metric names: binary-operator keywords and the clauses whose
// parenthesised list holds label names.
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set([...GROUPING, 'bool', 'and', 'or', 'unless', 'offset', 'atan2']);
const TOKEN = /\s+|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\[[^\]]*\]|\{[^}]*\}|[a-zA-Z_:][a-zA-Z0-9_:]*|\d+(?:\.\d+)?(?:[smhdwy])?|./gy;

function selectors(expr) {
  const tokens = (expr.match(TOKEN) ?? []).filter((t) => !/^\s+$/.test(t));
  const found = [];
  for (let i = 0; i < tokens.length; i += 1) {
    const t = tokens[i];
    if (!/^[a-zA-Z_:]/.test(t)) continue;
    if (GROUPING.has(t) && tokens[i + 1] === '(') {
      while (i < tokens.length && tokens[i] !== ')') i += 1;  // skip the label list
      continue;
    }
    if (KEYWORDS.has(t)) continue;
    const next = tokens[i + 1];
    // A function or an aggregation: name( or name by (...) (...).
    if (next === '(' || GROUPING.has(next)) continue;
    const matchers = [];
    if (next?.startsWith('{')) {
      for (const m of next.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
        matchers.push({ label: m[1], op: m[2], value: m[3] });
      }
      i += 1;
    }
    found.push({ name: t, matchers, text: t + (matchers.length ? next : '') });
  }
  return found;
}

test('the PromQL selector parser finds metrics and skips functions, keywords and label lists', () => {
  const names = (e) => selectors(e).map((s) => s.text);
  assert.deepEqual(names('sum by (instance) (rate(a_total{x="1", y=~"4.."}[5m])) / ignoring(z) b > 0.1'),
    ['a_total{x="1", y=~"4.."}', 'b']);
  assert.deepEqual(names('up{job="nudge"} == 0 and on(instance) sum without (le) (c) > bool 1'), ['up{job="nudge"}', 'c']);
  assert.deepEqual(selectors('m{status="other"}')[0].matchers, [{ label: 'status', op: '=', value: 'other' }]);
});

// Every PromQL expression of the dashboard: panel targets (rows included) and the template
// variables' label_values(<selector>, <label>) queries.
function dashboardExpressions() {
  const exprs = [];
  const walk = (panels) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) exprs.push(t.expr);
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const m = /^label_values\((.*),\s*\w+\)$/.exec(q ?? '');
    if (m) exprs.push(m[1]);
  }
  return exprs;
}

// Grafana's variables, as a dashboard user with every hub selected would have them.
const grafana = (expr) => expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', 'nudge').replaceAll('$instance', '.*');

// --- /metrics --------------------------------------------------------------------------
function parseExposition(text) {
  const series = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? /.exec(line);
    assert.ok(m, `exposition line: ${line}`);
    const labels = {};
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    series.push({ name: m[1], labels });
  }
  return series;
}

function matches(labels, { label, op, value }) {
  const actual = labels[label] ?? '';
  const re = new RegExp(`^(?:${value})$`);
  return { '=': actual === value, '!=': actual !== value, '=~': re.test(actual), '!~': !re.test(actual) }[op];
}

// --- the real hub and a real Prometheus scraping it -------------------------------------
let hub;
let prometheus;
let promUrl;
let exposition;

async function promQuery(expr) {
  const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = await response.json();
  assert.equal(body.status, 'success', `${expr}: ${JSON.stringify(body)}`);
  return body.data.result;
}

before(async () => {
  hub = await startHub();
  // Traffic, so that labelled series carry real values: a client, a refused client, and
  // publish answers 202, 400 and 401.
  const client = await connected(seedClient(hub.url, token('observer')));
  const refused = io(hub.url, { auth: { token: 'not-a-jwt' }, transports: ['websocket'], reconnection: false });
  await connectError(refused);
  refused.disconnect();
  assert.equal((await emit(hub, { room: 'user_observer', event: 'seen' })).status, 202);
  assert.equal((await emit(hub, { room: 'user_observer' })).status, 400);
  assert.equal((await emit(hub, { room: 'user_observer', event: 'x' }, { apiKey: 'wrong' })).status, 401);
  hub.client = client;
  exposition = parseExposition(await (await fetch(`${hub.url}/metrics`)).text());

  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, [
    'global: { scrape_interval: 1s, evaluation_interval: 1s }',
    `rule_files: [${JSON.stringify(rulesFile)}]`,
    'scrape_configs:',
    '  - job_name: nudge',
    `    static_configs: [{ targets: ["127.0.0.1:${hub.port}"] }]`,
    '',
  ].join('\n'));
  prometheus = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  prometheus.stderr.on('data', (chunk) => { log += chunk; });
  const exited = new Promise((resolve) => prometheus.once('exit', resolve));
  await Promise.race([
    eventually(async () => (await promQuery('up{job="nudge"}').catch(() => []))[0]?.value[1] === '1',
      { timeoutMs: 30000 * SLOW, intervalMs: 200 }),
    exited.then((code) => { throw new Error(`prometheus exited (${code}):\n${log}`); }),
  ]);
});

after(async () => {
  hub?.client?.disconnect();
  await hub?.stop();
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

async function ruleExpressions() {
  const body = await (await fetch(`${promUrl}/api/v1/rules`)).json();
  return body.data.groups.flatMap((g) => g.rules);
}

// Series Prometheus adds itself for every target (up, scrape_*): those a query may name
// beyond the hub's own.
async function targetSeriesNames() {
  const body = await (await fetch(`${promUrl}/api/v1/label/__name__/values?match[]=${encodeURIComponent('{job="nudge"}')}`)).json();
  return new Set(body.data);
}

async function checkSelectors(exprs, where) {
  const hubNames = new Set(exposition.map((s) => s.name));
  const scraped = await targetSeriesNames();
  let count = 0;
  for (const expr of exprs) {
    const found = selectors(grafana(expr));
    assert.ok(found.length > 0, `${where}: no metric in ${expr}`);
    for (const s of found) {
      count += 1;
      if (!hubNames.has(s.name)) {
        // Only Prometheus's own per-target series may be missing from /metrics.
        assert.ok(scraped.has(s.name) && !s.name.startsWith('nudge_'), `${where}: ${s.name} is not in /metrics (${expr})`);
      } else {
        // The labels it matches on (other than the target's job/instance) exist on the hub.
        const own = s.matchers.filter((m) => m.label !== 'job' && m.label !== 'instance');
        assert.ok(exposition.some((e) => e.name === s.name && own.every((m) => matches(e.labels, m))),
          `${where}: no ${s.text} in /metrics`);
      }
      // And Prometheus, scraping the hub, has the series the selector names.
      assert.ok((await promQuery(`count(${s.text})`)).length === 1, `${where}: Prometheus has no ${s.text}`);
    }
  }
  return count;
}

test('every metric the dashboard names exists in /metrics, and every dashboard query runs in Prometheus', async () => {
  const exprs = dashboardExpressions();
  assert.ok(exprs.length >= 10, `${exprs.length} dashboard queries`);
  const n = await checkSelectors(exprs, 'dashboard');
  for (const expr of exprs) await promQuery(grafana(expr));
  console.log(`# dashboard: ${exprs.length} queries, ${n} selectors checked`);
});

test('every metric the alert rules name exists in /metrics, and every rule evaluates without error', async () => {
  const rules = await ruleExpressions();
  assert.ok(rules.length >= 5, `${rules.length} rules loaded`);
  const n = await checkSelectors(rules.map((r) => r.query), 'alert rules');
  // Evaluated at least once (every second), each without error.
  await eventually(async () => (await ruleExpressions()).every((r) => r.lastEvaluation && !r.lastEvaluation.startsWith('0001')));
  for (const r of await ruleExpressions()) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
  console.log(`# alert rules: ${rules.length} rules, ${n} selectors checked`);
});

test('the dashboard is valid Grafana JSON: unique panel ids, a Prometheus data source variable', () => {
  const ids = [];
  const walk = (panels) => { for (const p of panels ?? []) { ids.push(p.id); walk(p.panels); } };
  walk(dashboard.panels);
  assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
  const ds = dashboard.templating.list.find((v) => v.type === 'datasource');
  assert.equal(ds?.query, 'prometheus');
  for (const p of dashboard.panels) {
    assert.ok(p.gridPos && p.title, `panel ${p.id}`);
    for (const t of p.targets ?? []) assert.equal(t.datasource.uid, `\${${ds.name}}`, `${p.title} uses the variable`);
  }
});

test('promtool: the rules file is valid and its unit tests pass (each alert fires, and only then)', async () => {
  const check = await run('promtool', ['check', 'rules', rulesFile]);
  assert.match(check.stdout, /SUCCESS: \d+ rules found/);
  const unit = await run('promtool', ['test', 'rules', join(deploy, 'prometheus/nudge-alerts.test.yml')]);
  assert.match(unit.stdout, /SUCCESS/);
  // Every alert of the file has a unit test.
  const tests = readFileSync(join(deploy, 'prometheus/nudge-alerts.test.yml'), 'utf8');
  for (const r of await ruleExpressions()) assert.ok(tests.includes(`alertname: ${r.name}`), `a test for ${r.name}`);
});
