// Test harness for the bank in Chromium: the hub, the backend (Node or Django) and the built
// front end on free ports, and per-user pages that record, in arrival order, every data request they make and
// every hub event their socket receives.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { chromium } from 'playwright-core';
import { startHub, SECRET, API_KEY } from '../../../tests/integration/lib/hub.mjs';
import { startBank } from '../server/app.mjs';
import { startDjangoBank } from '../server/django.mjs';
import { startDjangoPostgresBank } from '../server/django-postgres.mjs';

// BANK_BACKENDS=node (or django, or django+postgres) picks the backends to test.
const SELECTED = (process.env.BANK_BACKENDS || 'node,django,django+postgres').split(',');
/** The backends the API and launcher tests run against. */
export const BACKENDS = SELECTED.filter((backend) => backend !== 'django+postgres');
/** The Chromium test's: also Django on PostgreSQL, its emits off, the events from nudge-cdc. */
export const DEMO_BACKENDS = SELECTED;
export const startBackend = (backend, options) =>
  ({ node: startBank, django: startDjangoBank, 'django+postgres': startDjangoPostgresBank })[backend](
    options,
  );

// The endpoints behind React Query's keys; actions (POST/PATCH) and /api/simulate are not data.
const DATA = /^\/api\/(balance|transactions|loans|loans\/summary|profile)$/;

// The front end, built once per test process and shared by the backends' runs.
let frontEnd;
function buildFrontEnd() {
  frontEnd ??= (async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'nudge-bank-'));
    process.on('exit', () => rmSync(outDir, { recursive: true, force: true }));
    await build({
      configFile: fileURLToPath(new URL('../web/vite.config.mjs', import.meta.url)),
      build: { outDir, emptyOutDir: true },
    });
    return outDir;
  })();
  return frontEnd;
}

export async function startDemo({ backend = 'node', simulateMs = 2000 } = {}) {
  const outDir = await buildFrontEnd();
  const hub = await startHub();
  const logs = [];
  let bank;
  try {
    bank = await startBackend(backend, {
      port: 0,
      hubUrl: hub.url,
      apiKey: API_KEY,
      jwtSecret: SECRET,
      staticDir: outDir,
      simulateMs,
      log: (line) => logs.push(line),
    });
  } catch (error) {
    await hub.stop();
    throw new Error(`the ${backend} backend did not start: ${error.message}`);
  }
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    hub,
    bank,
    browser,
    outDir,
    logs,
    async stop() {
      await browser.close();
      await bank.close();
      await hub.stop();
    },
  };
}

/**
 * Logs `username` in, in a browser context of its own, and waits until the dashboard shows
 * every card and the hub connection is live. `trace` holds `{ kind: 'data', path }` and
 * `{ kind: 'event', name, args }` in the order the page saw them.
 */
export async function openDashboard(demo, username, password) {
  const context = await demo.browser.newContext({ viewport: { width: 1280, height: 820 } });
  const page = await context.newPage();
  const trace = [];
  let navigations = 0;
  page.on('request', (request) => {
    const { pathname } = new URL(request.url());
    if (request.method() === 'GET' && DATA.test(pathname))
      trace.push({ kind: 'data', path: pathname, at: Date.now() });
  });
  page.on('websocket', (socket) => {
    socket.on('framereceived', ({ payload }) => {
      // Socket.IO EVENT packets: 42["name",data]
      if (typeof payload === 'string' && payload.startsWith('42[')) {
        const [name, ...args] = JSON.parse(payload.slice(2));
        trace.push({ kind: 'event', name, args, at: Date.now() });
      }
    });
  });
  page.on('pageerror', (error) => trace.push({ kind: 'page-error', message: error.message }));
  await page.goto(demo.bank.url);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.locator('[data-testid=hub-status][data-state=connected]').waitFor();
  await page.locator('[data-testid=transactions] li').first().waitFor();
  await page.locator('[data-testid=loans] li').first().waitFor();
  await page.locator('[data-testid=loan-summary]').waitFor();
  await page.locator('[data-testid=profile] dd', { hasText: /\S/ }).first().waitFor();
  await page.locator('[data-testid=balance]', { hasText: '$' }).waitFor();
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations += 1;
  });
  return {
    context,
    page,
    trace,
    navigations: () => navigations,
    /** Waits until nothing was traced for `quietMs`; returns the trace position. */
    async settle(quietMs = 500, timeoutMs = 10_000) {
      const started = Date.now();
      let seen = -1;
      while (seen !== trace.length) {
        if (Date.now() - started > timeoutMs) {
          const recent = trace
            .slice(seen)
            .map((e) => e.path ?? e.name)
            .join(', ');
          throw new Error(`${username}'s page never went quiet for ${quietMs} ms (polling, or events still coming?): ${recent}`);
        }
        seen = trace.length;
        await page.waitForTimeout(quietMs);
      }
      return trace.length;
    },
    since: (mark) => trace.slice(mark),
  };
}

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
export const formatCents = (cents) => money.format(cents / 100);
export const parseMoney = (text) => Math.round(Number(text.replace(/[^\d.-]/g, '')) * 100);
