// nudge-cdc end to end: a real Postgres 15 (wal_level=logical, its own cluster on a free port),
// the real nudged, nudge-cdc between them, real socket.io-client clients. Every change is
// made by psql as a separate process, like a person at a terminal. Absence of an event is
// proved with a marker row committed after it (events reach a room in commit order).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { startHub, seedClient, connected, token, API_KEY, freePort } from '../integration/lib/hub.mjs';
import { startProxy } from '../integration/lib/redis.mjs';
import { startPostgres, startCdc, runCdc } from './lib/postgres.mjs';

const PASSWORD = 'cdc-secret';
const dir = mkdtempSync(join(tmpdir(), 'nudge-cdc-test-'));
let pg;
let hub;
let proxy;
let cdc;
let client;
let nudgeClient;  // opted in to nudge's metadata argument (auth.nudge), as @nudge/query-core does
let url;
const received = [];
const receivedWithMeta = [];

const RULES = `
[[rule]]
table = "account"
on = ["update"]
changed = ["balance"]
event = "balance_updated"
rooms = ["user_{user_id}"]
data = ["id", "balance"]

[[rule]]
table = "account"
on = ["insert", "delete"]
event = "account_changed"
rooms = ["user_{user_id}"]
data = ["id", "balance"]

[[rule]]
table = "marker"
on = ["insert"]
event = "marker"
rooms = ["user_{user_id}"]
data = ["label"]
`;

function rulesFile(name, text) {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

// Waits until the client got an event named `marker` with this label; returns everything
// received before it (and clears the list).
async function untilMarker(label) {
  const deadline = Date.now() + 20000;
  for (;;) {
    const at = received.findIndex((e) => e.name === 'marker' && e.data.label === label);
    if (at >= 0) return received.splice(0, at + 1).slice(0, at);
    if (Date.now() > deadline) throw new Error(`no marker ${label}; got ${JSON.stringify(received)}\n${cdc.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const asCdc = (sql) => pg.psqlScript(sql, { user: 'cdc' });
let markers = 0;
async function marker() {
  const label = `m${++markers}`;
  await asCdc(`INSERT INTO marker (user_id, label) VALUES (7, '${label}');`);
  return untilMarker(label);
}

before(async () => {
  pg = await startPostgres();
  await pg.sql(`
    CREATE ROLE cdc WITH LOGIN REPLICATION PASSWORD '${PASSWORD}';
    CREATE ROLE plain WITH LOGIN PASSWORD '${PASSWORD}';
    GRANT CREATE ON DATABASE postgres TO cdc;
    GRANT ALL ON SCHEMA public TO cdc;`);
  // psql as the cdc user over the socket needs no password (local trust).
  await pg.psqlScript(`
    CREATE TABLE account (id int PRIMARY KEY, user_id int NOT NULL, legacy text,
                          balance numeric NOT NULL, note text);
    ALTER TABLE account REPLICA IDENTITY FULL;
    CREATE TABLE marker (id serial PRIMARY KEY, user_id int NOT NULL, label text);
    CREATE TABLE plain_table (id int PRIMARY KEY, user_id int, balance int);
    INSERT INTO account VALUES (1, 7, 'x', 100, 'a'), (2, 7, 'y', 200, 'b'), (3, 7, 'z', 300, 'c');`,
  { user: 'cdc' });
  url = pg.url('cdc', PASSWORD);
  hub = await startHub();
  proxy = await startProxy(hub.url);
  client = seedClient(hub.url, token('7'));
  client.onAny((name, data) => received.push({ name, data }));
  await connected(client);
  nudgeClient = io(hub.url, { auth: { token: token('7'), nudge: 1 }, transports: ['websocket'] });
  nudgeClient.onAny((name, ...args) => receivedWithMeta.push({ name, args }));
  await connected(nudgeClient);
  cdc = startCdc(['--postgres', url, '--rules', rulesFile('rules.toml', RULES), '--hub', proxy.url,
    '--api-key', API_KEY, '--metrics-port', '0', '--hub-timeout', '1000', '--max-backoff', '200']);
  await cdc.ready;
});

after(async () => {
  client?.close();
  nudgeClient?.close();
  await cdc?.kill();
  await proxy?.close();
  await hub?.stop();
  await pg?.destroy();
});

test('a rolled-back transaction produces no event', async () => {
  await asCdc('BEGIN; UPDATE account SET balance = 999 WHERE id = 1; ROLLBACK;');
  assert.deepEqual(await marker(), []);
});

test('one transaction touching three rows: three events in commit order, with the commit LSN', async () => {
  await asCdc(`BEGIN;
    UPDATE account SET balance = 102 WHERE id = 2;
    UPDATE account SET balance = 101 WHERE id = 1;
    UPDATE account SET balance = 103 WHERE id = 3;
    COMMIT;`);
  const events = await marker();
  assert.deepEqual(events.map((e) => [e.name, e.data.id, e.data.balance]),
    [['balance_updated', 2, '102'], ['balance_updated', 1, '101'], ['balance_updated', 3, '103']]);
  assert.match(events[0].data.lsn, /^[0-9A-F]+\/[0-9A-F]+$/);
  assert.ok(events.every((e) => e.data.lsn === events[0].data.lsn), 'one transaction, one commit LSN');
});

test('each event carries a version just past its commit LSN, which the primary has reached', async () => {
  receivedWithMeta.length = 0;
  await asCdc('BEGIN; UPDATE account SET balance = 111 WHERE id = 1; UPDATE account SET balance = 112 WHERE id = 2; COMMIT;');
  const [event] = await marker();
  const lsnValue = (text) => {
    const [high, low] = text.split('/');
    return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
  };
  const withMeta = receivedWithMeta.filter((e) => e.name === 'balance_updated');
  assert.equal(withMeta.length, 2);
  for (const { args } of withMeta) {
    const meta = args.find((arg) => arg !== null && typeof arg === 'object' && '$nudge' in arg);
    assert.ok(meta, JSON.stringify(args));
    // commit LSN + 1: a standby at exactly the commit LSN has not replayed the commit record.
    assert.equal(lsnValue(meta.$nudge.v), lsnValue(event.data.lsn) + 1n);
    assert.equal(meta.$nudge.s, undefined);
  }
  const current = (await pg.sql('SELECT pg_current_wal_lsn()')).trim();
  assert.ok(lsnValue(current) >= lsnValue(withMeta[0].args.find((a) => a?.$nudge).$nudge.v));
});

test('an UPDATE that does not change a `changed` column produces none', async () => {
  await asCdc(`UPDATE account SET note = 'changed' WHERE id = 1;
               UPDATE account SET balance = balance WHERE id = 2;`);
  assert.deepEqual(await marker(), []);
});

test('a psql update made by hand produces the event', async () => {
  await asCdc('UPDATE account SET balance = 150 WHERE id = 1;');
  const events = await marker();
  assert.deepEqual(events.map((e) => [e.name, e.data.id, e.data.balance]), [['balance_updated', 1, '150']]);
});

test('ALTER TABLE mid-stream (DROP a column before the data, ADD one) is followed', async () => {
  await asCdc(`ALTER TABLE account DROP COLUMN legacy;
               ALTER TABLE account ADD COLUMN tag text;
               UPDATE account SET balance = 160, tag = 'new' WHERE id = 1;
               INSERT INTO account (id, user_id, balance, note, tag) VALUES (4, 7, 400, 'd', 't');
               DELETE FROM account WHERE id = 4;`);
  const events = await marker();
  assert.deepEqual(events.map((e) => [e.name, e.data.id, e.data.balance]),
    [['balance_updated', 1, '160'], ['account_changed', 4, '400'], ['account_changed', 4, '400']]);
});

test('an unreachable hub is a logged, retried wait, and nothing is lost', async () => {
  proxy.hold();
  proxy.dropAll();
  await asCdc('UPDATE account SET balance = 170 WHERE id = 1;');
  await cdc.waitFor(/waiting for the hub/);
  const lag = await (await fetch(`http://127.0.0.1:${(await cdc.waitFor(/metrics on http:\/\/[\d.]+:(\d+)/))[1]}/metrics`)).text();
  assert.match(lag, /^nudge_cdc_hub_waiting 1$/m);
  proxy.release();
  const events = await marker();
  assert.deepEqual(events.map((e) => [e.name, e.data.balance]), [['balance_updated', '170']]);
  const after = await (await fetch(`http://127.0.0.1:${(await cdc.waitFor(/metrics on http:\/\/[\d.]+:(\d+)/))[1]}/metrics`)).text();
  assert.match(after, /^nudge_cdc_hub_waiting 0$/m);
  assert.match(after, /^nudge_cdc_hub_failures_total [1-9]\d*$/m);
});

test('--check-config checks the rules against the database and creates nothing', async () => {
  const result = await runCdc(['--postgres', url, '--rules', rulesFile('check.toml', RULES), '--hub', hub.url,
    '--api-key', API_KEY, '--slot', 'unused', '--check-config']);
  assert.equal(result.code, 0, result.output);
  assert.match(result.output, /configuration OK: 3 rules on public\.account, public\.marker/);
  assert.equal(await pg.sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'unused'"), '0');
});

test('every flag can come from a --config file', async () => {
  const config = join(dir, 'cdc.toml');
  writeFileSync(config, `postgres = "${url}"\nrules = "${rulesFile('c.toml', RULES)}"\n` +
    `hub = "${hub.url}"\napi-key = "${API_KEY}"\nslot = "from_file"\npublication = "nudge"\n`);
  const result = await runCdc(['--config', config, '--check-config']);
  assert.equal(result.code, 0, result.output);
  assert.match(result.output, /slot "from_file" \(missing/);
});

// The same TOML reader as nudged's (toml++): a broken file, a wrong type or an unknown key is
// exit 2 with file:line:column and the key, never a value taken as written.
const badConfigs = [
  ['an unterminated string', 'slot = "from_file\n', /cdc-bad\.toml:1:\d+: invalid TOML/],
  ['a bare value', 'slot = from_file\n', /cdc-bad\.toml:1:\d+: invalid TOML/],
  ['a wrong type', 'max-batch = "many"\n', /cdc-bad\.toml:1:\d+: max-batch: /],
  ['an unknown key', 'slott = "x"\n', /cdc-bad\.toml:1:1: slott: unknown setting \(did you mean slot\?\)/],
];
for (const [what, text, message] of badConfigs) {
  test(`a --config file with ${what} exits 2 with its line and column`, async () => {
    const config = join(dir, 'cdc-bad.toml');
    writeFileSync(config, text);
    const result = await runCdc(['--config', config, '--postgres', url, '--rules', rulesFile('c.toml', RULES),
      '--api-key', API_KEY, '--check-config']);
    assert.equal(result.code, 2, result.output);
    assert.match(result.output, /^nudge-cdc: /);
    assert.match(result.output, message);
  });
}

test('a misspelt flag is named with its near miss', async () => {
  const result = await runCdc(['--slto', 'x']);
  assert.equal(result.code, 2, result.output);
  assert.match(result.output, /^nudge-cdc: unknown flag --slto \(did you mean --slot\?\)/);
});

const badStarts = [
  ['an unknown table', 'table = "acount"', /bad\.toml:3:9: table public\.acount does not exist/],
  ['an unknown column', 'data = ["balanse"]', /bad\.toml:7:8: data names column "balanse", which table public\.account does not have/],
  ['an unknown template variable', 'rooms = ["user_{owner}"]', /bad\.toml:6:9: room template "user_\{owner\}" names column "owner"/],
];
for (const [what, line, message] of badStarts) {
  test(`a rules file with ${what} exits 2 naming the line`, async () => {
    const lines = ['', '[[rule]]', 'table = "account"', 'on = ["update"]', 'event = "e"',
      'rooms = ["user_{user_id}"]', 'data = ["id"]'];
    const key = line.split(' ')[0];
    const text = lines.map((l) => (l.startsWith(`${key} `) ? line : l)).join('\n');
    const result = await runCdc(['--postgres', url, '--rules', rulesFile('bad.toml', text), '--hub', hub.url,
      '--api-key', API_KEY, '--check-config']);
    assert.equal(result.code, 2, result.output);
    assert.match(result.output, /^nudge-cdc: /);
    assert.match(result.output, message);
  });
}

test('a rule needing old values on a table without REPLICA IDENTITY FULL names the fix', async () => {
  const result = await runCdc(['--postgres', url, '--rules', rulesFile('ri.toml',
    '[[rule]]\ntable = "plain_table"\non = ["update"]\nchanged = ["balance"]\nevent = "e"\nrooms = ["u_{user_id}"]\n'),
  '--hub', hub.url, '--api-key', API_KEY]);
  assert.equal(result.code, 2, result.output);
  assert.match(result.output, /ri\.toml:1:1: the rule on public\.plain_table needs old values .* run: ALTER TABLE public\.plain_table REPLICA IDENTITY FULL/);
});

test('a wrong password exits 2 with a clear message', async () => {
  const result = await runCdc(['--postgres', pg.url('cdc', 'wrong'), '--rules', rulesFile('w.toml', RULES),
    '--hub', hub.url, '--api-key', API_KEY]);
  assert.equal(result.code, 2, result.output);
  assert.match(result.output, /nudge-cdc: Postgres refused the login \(.*password authentication failed.*\); check the user, password and database in --postgres/);
});

test('a role without REPLICATION exits 2 naming the privilege', async () => {
  await pg.sql('GRANT SELECT ON account, marker TO plain;');
  const result = await runCdc(['--postgres', pg.url('plain', PASSWORD), '--rules', rulesFile('p.toml', RULES),
    '--hub', hub.url, '--api-key', API_KEY]);
  assert.equal(result.code, 2, result.output);
  assert.match(result.output, /may not read the replication stream .*ALTER ROLE <name> WITH REPLICATION/);
});

test('an unreachable Postgres at start exits 2 saying so', async () => {
  const port = await freePort();
  const result = await runCdc(['--postgres', `postgresql://cdc:x@127.0.0.1:${port}/postgres`, '--rules',
    rulesFile('u.toml', RULES), '--hub', hub.url, '--api-key', API_KEY]);
  assert.equal(result.code, 2, result.output);
  assert.match(result.output, /nudge-cdc: cannot connect to Postgres \(.*\); is it running/);
});
