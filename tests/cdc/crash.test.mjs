// Exactly once, in commit order, through crashes: 10,000 committed transactions while
// nudge-cdc is killed with SIGKILL three times, the hub is down for 30 s (stopped and started
// again on the same port; the clients reconnect) and Postgres restarts (immediate mode, a
// crash). Every row carries its user's sequence number; each user's client must receive
// 1..N exactly once and in order, and then the closing marker.
//
// The hub runs with the Redis broker, as a deployment that wants exactly-once across hub restarts
// must: the idempotency ids live in Redis, so a replay after the Postgres crash (the slot
// resumes from its last checkpointed position, here from before the hub restart) is dropped.
// The hub outage: the proxy between nudge-cdc and the hub holds first (nudge-cdc's requests
// stop reaching it but answers in flight still come back), then the hub stops. After the
// outage the hub starts, the clients reconnect, and only then the proxy lets nudge-cdc
// through, so no event is published while the clients are away (the hub keeps no history
// across its own restart here).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, seedClient, connected, token, API_KEY, sleep } from '../integration/lib/hub.mjs';
import { startProxy, startRedis } from '../integration/lib/redis.mjs';
import { startPostgres, startCdc } from './lib/postgres.mjs';

const USERS = 4;
const CHUNKS = 10;
const PER_CHUNK = 1000;
const OUTAGE_MS = Number(process.env.CDC_OUTAGE_MS ?? 30000);
const PASSWORD = 'crash-secret';

const cleanup = [];
after(async () => { for (const step of cleanup.reverse()) await step(); });

test('10,000 transactions through 3 SIGKILLs, a 30 s hub outage and a Postgres restart: exactly once, in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-cdc-crash-'));
  const pg = await startPostgres();
  cleanup.push(() => pg.destroy());
  await pg.sql(`CREATE ROLE cdc WITH LOGIN REPLICATION PASSWORD '${PASSWORD}';
    GRANT CREATE ON DATABASE postgres TO cdc; GRANT ALL ON SCHEMA public TO cdc;`);
  await pg.psqlScript(`CREATE TABLE item (id bigserial PRIMARY KEY, user_id int NOT NULL, seq int NOT NULL);
    CREATE TABLE done (user_id int PRIMARY KEY);`, { user: 'cdc' });
  const rules = join(dir, 'rules.toml');
  writeFileSync(rules, `
[[rule]]
table = "item"
on = ["insert"]
event = "item"
rooms = ["user_{user_id}"]
data = ["seq"]

[[rule]]
table = "done"
on = ["insert"]
event = "done"
rooms = ["user_{user_id}"]
`);

  const redis = await startRedis();
  cleanup.push(() => redis.stop());
  // An idempotency window longer than the whole run: every replay falls inside it.
  const hubOptions = { broker: redis.url, args: ['--idempotency-window', '900'] };
  let hub = await startHub(hubOptions);
  const hubPort = hub.port;
  cleanup.push(() => hub.stop());
  const proxy = await startProxy(hub.url);
  cleanup.push(() => proxy.close());

  const seen = Array.from({ length: USERS }, () => []);
  const finished = [];
  const clients = [];
  for (let u = 0; u < USERS; u++) {
    const client = seedClient(hub.url, token(String(u)));
    client.io.reconnectionAttempts(Infinity);
    client.io.reconnectionDelay(100);
    client.io.reconnectionDelayMax(500);
    client.on('item', (data) => seen[u].push(data.seq));
    finished.push(new Promise((resolve) => client.on('done', resolve)));
    clients.push(client);
    await connected(client);
  }
  cleanup.push(() => { for (const c of clients) c.close(); });

  const url = pg.url('cdc', PASSWORD);
  const args = ['--postgres', url, '--rules', rules, '--hub', proxy.url, '--api-key', API_KEY,
    '--hub-timeout', '1000', '--max-backoff', '250', '--status-interval', '1'];
  let cdc = startCdc(args);
  cleanup.push(() => cdc.kill());
  await cdc.ready;
  const restartCdc = async () => {
    const { signal } = await cdc.kill('SIGKILL');
    assert.equal(signal, 'SIGKILL');
    cdc = startCdc(args);
    await cdc.ready;
  };

  // Each transaction inserts one row for one user with that user's next sequence number;
  // every tenth transaction inserts three rows (three users) in one transaction.
  const next = Array(USERS).fill(0);
  const chunk = () => {
    let script = '';
    for (let t = 0; t < PER_CHUNK; t++) {
      const users = t % 10 === 9 ? [0, 1, 2] : [t % USERS];
      const values = users.map((u) => `(${u}, ${++next[u]})`).join(', ');
      script += `INSERT INTO item (user_id, seq) VALUES ${values};\n`;
    }
    return pg.psqlScript(script, { user: 'cdc' });
  };

  let outageStarted;
  for (let c = 0; c < CHUNKS; c++) {
    const writing = chunk();
    if (c === 1 || c === 3) await restartCdc();  // SIGKILL while the chunk is being written
    if (c === 5) {
      // The hub outage, while chunks 5 and 6 are committed.
      proxy.hold();
      await cdc.waitFor(/waiting for the hub/);
      await hub.stop();
      outageStarted = Date.now();
    }
    await writing;
    if (c === 6) {
      await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStarted)));
      hub = await startHub({ ...hubOptions, port: hubPort });
      await Promise.all(clients.map((client) => new Promise((resolve) => {
        if (client.connected) resolve(); else client.once('connect', resolve);
      })));
      proxy.dropAll();
      proxy.release();
    }
    if (c === 7) {
      await pg.restart('immediate');  // a crash; nudge-cdc reconnects
      await cdc.waitFor(/streaming slot=nudge .*\(reconnected\)/);
    }
    if (c === 8) await restartCdc();  // the third SIGKILL, with a backlog after the restart
  }
  await pg.psqlScript(`INSERT INTO done SELECT generate_series(0, ${USERS - 1});`, { user: 'cdc' });
  await Promise.race([
    Promise.all(finished),
    sleep(180000).then(() => { throw new Error(`not all done: ${seen.map((s) => s.length)}\n${cdc.output()}`); }),
  ]);

  let total = 0;
  for (let u = 0; u < USERS; u++) {
    total += seen[u].length;
    const expected = Array.from({ length: next[u] }, (_, i) => i + 1);
    // Cheap comparison first, then a readable one on failure.
    if (seen[u].join() !== expected.join()) {
      const firstBad = seen[u].findIndex((v, i) => v !== i + 1);
      assert.fail(`user ${u}: ${seen[u].length} events for ${next[u]} rows; first out of place at ` +
                  `${firstBad}: ${seen[u].slice(Math.max(0, firstBad - 3), firstBad + 3)}`);
    }
  }
  assert.equal(total, CHUNKS * PER_CHUNK + (CHUNKS * PER_CHUNK) / 10 * 2);
});
