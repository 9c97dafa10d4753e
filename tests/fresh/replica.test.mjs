// Issue 22's replica test: the bank's Django backend reads from a streaming hot standby that
// applies each commit 1 s late. FRESH_CYCLES pay → event → refetch cycles per phase in Chromium
// (10 in make test; .ci/run runs 300):
//   control   without nudge's fresh-data middleware: the refetch reads the standby before it has
//             replayed the payment, and the page shows a balance older than the event.
//   fresh     with it: the refetch asks for the event's version (Nudge-Min-Version), the
//             middleware waits for the standby: zero balances older than the event.
//   current   the standby without delay, cycles alternated between the bank with the
//             middleware and the one without: what the middleware adds to a balance read (the
//             difference of their answer times) and its own Server-Timing, reported as p50/p95.
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

async function cycles(bank, count, page = null) {
  const own = page === null;
  page ??= await bankPages(browser, bank.url, 'alice', 'wonderland');
  const stale = [];
  try {
    for (let i = 0; i < count; i++) {
      const { expected, shown: [shown] } = await page.pay();
      if (shown !== expected) stale.push({ cycle: i, expected, shown });
    }
    assert.deepEqual(page.errors, []);
    return { stale, timings: page.timings, answered: page.answered };
  } finally {
    if (own) await page.close();
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

test(`with the middleware and a current standby: its added latency (${CYCLES} cycles, and as many without it)`, async () => {
  await db.delay('0');
  await db.caughtUp();
  // The same cycles on the bank without the middleware, alternated in runs of 10 so that the
  // machine's load falls on both alike: what the middleware adds is the difference between the
  // two banks' answer times (Chromium's request → first byte), not only its own Server-Timing,
  // which also counts the time its thread waited for Python's GIL while the event's other
  // refetch (transactions) ran in the same process — a wait the view would have had anyway.
  const [withIt, without] = await Promise.all([bankPages(browser, banks.fresh.url, 'alice', 'wonderland'),
    bankPages(browser, banks.control.url, 'bob', 'builder')]);  // another user: no cross-talk
  try {
    for (let done = 0; done < CYCLES; done += 10) {
      const n = Math.min(10, CYCLES - done);
      assert.deepEqual((await cycles(banks.fresh, n, withIt)).stale, []);
      await cycles(banks.control, n, without);
    }
  } finally {
    await Promise.all([withIt.close(), without.close()]);
  }
  const { timings } = withIt;
  assert.ok(timings.length >= CYCLES, `${timings.length} balance answers carried Server-Timing`);
  assert.ok(withIt.answered.length >= CYCLES && without.answered.length >= CYCLES,
    `answer times: ${withIt.answered.length} with, ${without.answered.length} without the middleware`);
  // Current: the standby had the event's version at the first look (one position query). A
  // refetch right after a commit may still wait for streaming replication: reported apart.
  const report = (what, ms) => (ms.length === 0 ? `${what}: none` : `${what}: p50 ${percentile(ms, 50).toFixed(2)} ms, ` +
    `p95 ${percentile(ms, 95).toFixed(2)} ms, max ${Math.max(...ms).toFixed(2)} ms over ${ms.length} reads`);
  const ms = (list) => list.map((t) => t.ms);
  console.log(`# fresh current standby, middleware time per balance read: ${report('standby current at the first look', ms(timings.filter((t) => !t.waited)))}; ` +
    `${report('waited for replication', ms(timings.filter((t) => t.waited)))}; ${report('all', ms(timings))}`);
  const added = (p) => (percentile(withIt.answered, p) - percentile(without.answered, p)).toFixed(2);
  console.log(`# fresh current standby, balance answer time (request to first byte): ${report('with the middleware', withIt.answered)}; ` +
    `${report('without', without.answered)}; added: p50 ${added(50)} ms, p95 ${added(95)} ms`);
});
