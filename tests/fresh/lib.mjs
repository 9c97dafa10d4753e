// Test harness for the fresh-data suites: a PostgreSQL 15 primary and a streaming hot standby
// (scripts/postgres start / standby / delay), the hub, the bank's Django backend reading from
// the standby, the bank's front end built once, Chromium, and the measures of a
// pay → event → refetch cycle as the browser renders it.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'vite';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/postgres', import.meta.url));

/** `FRESH_CYCLES` (default 10 in make test; .ci/run runs 300) cycles per phase. */
export const CYCLES = Number(process.env.FRESH_CYCLES ?? 10);

async function script(...args) {
  try {
    return (await run(SCRIPT, args, { timeout: 120_000 })).stdout.trim();
  } catch (error) {
    throw new Error(`scripts/postgres ${args.join(' ')}: ${(error.stderr || error.message).trim()}`);
  }
}

/** psql as the superuser; resolves with the unaligned output. */
export async function psql(url, sql) {
  const { stdout } = await run('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql]);
  return stdout.trim();
}

/** A primary and a hot standby of it applying each commit `delay` late (e.g. '1s'). */
export async function startReplicated({ delay = '0' } = {}) {
  const parent = mkdtempSync(join(tmpdir(), 'nudge-fresh-'));
  chmodSync(parent, 0o755); // the servers run as the postgres user when we are root
  const dirs = { primary: join(parent, 'primary'), standby: join(parent, 'standby') };
  let primary;
  let standby;
  try {
    primary = await script('start', dirs.primary);
    standby = await script('standby', dirs.standby, new URL(primary).port, delay);
  } catch (error) {
    await script('stop', dirs.primary).catch(() => {});
    rmSync(parent, { recursive: true, force: true });
    throw error;
  }
  return {
    primary,
    standby,
    /** Sets the standby's apply delay for the commits after this. */
    delay: (value) => script('delay', dirs.standby, value),
    /** Resolves once the standby has replayed everything the primary has committed so far. */
    async caughtUp() {
      const target = await psql(primary, 'SELECT pg_current_wal_lsn()');
      for (;;) {
        const done = await psql(standby, `SELECT pg_last_wal_replay_lsn() >= '${target}'::pg_lsn`);
        if (done === 't') return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      await script('stop', dirs.standby).catch(() => {});
      await script('stop', dirs.primary).catch(() => {});
      rmSync(parent, { recursive: true, force: true });
    },
  };
}

let frontEnd;
/** The bank's front end (examples/bank/web), built once per test process. */
export function bankFrontEnd() {
  frontEnd ??= (async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'nudge-fresh-web-'));
    process.on('exit', () => rmSync(outDir, { recursive: true, force: true }));
    await build({
      configFile: fileURLToPath(new URL('../../examples/bank/web/vite.config.mjs', import.meta.url)),
      build: { outDir, emptyOutDir: true },
      logLevel: 'warn',
    });
    return outDir;
  })();
  return frontEnd;
}

export const launchChromium = () =>
  chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });

const parseMoney = (text) => Math.round(Number(text.replace(/[^\d.-]/g, '')) * 100);

const BALANCE_SHOWN = (before) => {
  const query = window.__TANSTACK_QUERY_CLIENT__.getQueryCache().find({ queryKey: ['balance'] });
  const { dataUpdateCount, errorUpdateCount, fetchStatus, data } = query.state;
  if (dataUpdateCount + errorUpdateCount <= before || fetchStatus !== 'idle') return false;
  const card = document.querySelector('[data-testid=balance]');
  const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
  return card?.textContent === money.format(data.balanceCents / 100);
};

// Answers (successes and failures) of the page's balance query so far.
const ANSWERS = () => {
  const query = window.__TANSTACK_QUERY_CLIENT__.getQueryCache().find({ queryKey: ['balance'] });
  return query.state.dataUpdateCount + query.state.errorUpdateCount;
};

/**
 * Logs `username` in on the bank at `url` and opens the dashboard on `devices` browser contexts
 * (the same session, as the same user on several devices: each its own socket and its own HTTP
 * cache), and waits for their balances. Counts the hub's `transaction_happened` frames, keeps
 * each /api/balance answer's Server-Timing ({ ms, waited }), its time to first byte (`answered`, ms)
 * and X-Cache-Status. `pay()` runs one cycle: a
 * payment through the API, its event, the refetch on every device; it resolves with
 * { expected, shown: [per device] } once each device's balance query has answered after the
 * event, is idle, and its card shows what the cache holds.
 */
export async function bankPages(browser, url, username, password, { devices = 1 } = {}) {
  const context = await browser.newContext();
  const contexts = [context];
  let events = 0;
  const timings = [];
  const answered = [];
  const cache = [];
  const errors = [];
  const watch = (page) => {
    page.on('websocket', (socket) =>
      socket.on('framereceived', ({ payload }) => {
        if (typeof payload === 'string' && payload.startsWith('42["transaction_happened"')) events++;
      }),
    );
    page.on('response', async (response) => {
      if (new URL(response.url()).pathname !== '/api/balance') return;
      // Request sent → first byte of the answer (Chromium's own timing): the backend's time
      // for the read, whatever middleware it runs.
      const { requestStart, responseStart } = response.request().timing();
      if (requestStart >= 0 && responseStart >= requestStart) answered.push(responseStart - requestStart);
      const headers = await response.allHeaders();
      const timing = /nudge;dur=([\d.]+);desc="([^"]*)"/.exec(headers['server-timing'] ?? '');
      if (timing) timings.push({ ms: Number(timing[1]), waited: timing[2].endsWith('waited') });
      if (headers['x-cache-status']) cache.push(headers['x-cache-status']);
    });
    page.on('pageerror', (error) => errors.push(error.message));
  };
  const first = await context.newPage();
  watch(first);
  await first.goto(url);
  await first.fill('input[name=username]', username);
  await first.fill('input[name=password]', password);
  await first.click('button[type=submit]');
  const pages = [first];
  await first.locator('[data-testid=balance]', { hasText: '$' }).waitFor();
  for (let i = 1; i < devices; i++) {
    // The session (token) is in localStorage: the other devices start logged in as the same user.
    const other = await browser.newContext({ storageState: await context.storageState() });
    contexts.push(other);
    const page = await other.newPage();
    watch(page);
    await page.goto(url);
    pages.push(page);
  }
  for (const page of pages) {
    await page.locator('[data-testid=hub-status][data-state=connected]').waitFor();
    await page.locator('[data-testid=balance]', { hasText: '$' }).waitFor();
  }
  const { token } = await first.evaluate(() => JSON.parse(localStorage.getItem('nudge-bank.session')));
  const until = async (check, what) => {
    const deadline = Date.now() + 20_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`${username}'s pages: no ${what} within 20 s`);
      await first.waitForTimeout(5);
    }
  };
  return {
    pages,
    timings,
    answered,
    cache,
    errors,
    async pay() {
      const seenEvents = events;
      const before = await Promise.all(pages.map((page) => page.evaluate(ANSWERS)));
      const answer = await fetch(`${url}/api/payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ payee: 'Fresh data test', amountCents: 1 }),
      });
      if (answer.status !== 201) throw new Error(`payment answered ${answer.status}: ${await answer.text()}`);
      const expected = (await answer.json()).balanceCents;
      await until(() => events > seenEvents, 'transaction_happened event');
      const shown = [];
      for (const [i, page] of pages.entries()) {
        await page.waitForFunction(BALANCE_SHOWN, before[i], { timeout: 20_000, polling: 5 });
        shown.push(parseMoney(await page.locator('[data-testid=balance]').innerText()));
      }
      return { expected, shown };
    },
    close: () => Promise.all(contexts.map((c) => c.close())),
  };
}

export const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
