// Issue 22's replica test: the bank's Django backend reads from a streaming hot standby that
// applies each commit 1 s late. FRESH_CYCLES pay → event → refetch cycles per phase in Chromium
// (20 in make test; .ci/run runs 300):
//   control   without nudge's fresh-data middleware: the refetch reads the standby before it has
//             replayed the payment, and the page shows a balance older than the event.
//   fresh     with it: the refetch asks for the event's version (Nudge-Min-Version), the
//             middleware waits for the standby: zero balances older than the event.
//   current   with it, the standby without delay: what the middleware adds to a request
//             (its Server-Timing), reported as p50/p95.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, SECRET, API_KEY } from '../integration/lib/hub.mjs';
import { startDjangoBank } from '../../examples/bank/server/django.mjs';
import { bankFrontEnd, bankPages, CYCLES, launchChromium, percentile, startReplicated } from './lib.mjs';

let db;
let hub;
let browser;
const banks = {};

before(async () => {
  const [staticDir, replicated, started] = await Promise.all([
    bankFrontEnd(), startReplicated({ delay: '0' }), startHub(),
  ]);
  db = replicated;
  hub = started;
  const options = {
    port: 0, hubUrl: hub.url, apiKey: API_KEY, jwtSecret: SECRET, staticDir,
    databaseUrl: db.primary, replicaUrl: db.standby, log: () => {},
  };
  // One after the other: the first migrates and seeds the primary.
  banks.control = await startDjangoBank({ ...options, fresh: false });
  banks.fresh = await startDjangoBank({ ...options, fresh: true, freshTimeout: 10 });
  await db.caughtUp();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await Promise.all(Object.values(banks).map((bank) => bank.close()));
  await hub?.stop();
  await db?.stop();
});

async function cycles(bank, count) {
  const page = await bankPages(browser, bank.url, 'alice', 'wonderland');
  const stale = [];
  try {
    for (let i = 0; i < count; i++) {
      const { expected, shown: [shown] } = await page.pay();
      if (shown !== expected) stale.push({ cycle: i, expected, shown });
    }
    assert.deepEqual(page.errors, []);
    return { stale, timings: page.timings };
  } finally {
    await page.close();
  }
}

test(`control: without the middleware a lagging standby shows balances older than the event (${CYCLES} cycles)`, async () => {
  await db.delay('1s');
  const { stale } = await cycles(banks.control, CYCLES);
  console.log(`# fresh control: ${stale.length} of ${CYCLES} refetches rendered a balance older than their event`);
  assert.ok(stale.length > 0, 'the control must record stale renders, or the test cannot fail');
});

test(`with the middleware: zero balances older than the event (${CYCLES} cycles, standby 1 s behind)`, async () => {
  await db.delay('1s');
  const { stale } = await cycles(banks.fresh, CYCLES);
  assert.deepEqual(stale, []);
});

test(`with the middleware and a current standby: its added latency (${CYCLES} cycles)`, async () => {
  await db.delay('0');
  await db.caughtUp();
  const { stale, timings } = await cycles(banks.fresh, CYCLES);
  assert.deepEqual(stale, []);
  assert.ok(timings.length >= CYCLES, `${timings.length} balance answers carried Server-Timing`);
  // Current: the standby had the event's version at the first look (one position query). A
  // refetch right after a commit may still wait for streaming replication: reported apart.
  const report = (what, list) => {
    const ms = list.map((t) => t.ms);
    return ms.length === 0 ? `${what}: none` : `${what}: p50 ${percentile(ms, 50).toFixed(2)} ms, ` +
      `p95 ${percentile(ms, 95).toFixed(2)} ms, max ${Math.max(...ms).toFixed(2)} ms over ${ms.length} reads`;
  };
  console.log(`# fresh current standby, middleware time per balance read: ${report('standby current at the first look', timings.filter((t) => !t.waited))}; ` +
    `${report('waited for replication', timings.filter((t) => t.waited))}; ${report('all', timings)}`);
});
