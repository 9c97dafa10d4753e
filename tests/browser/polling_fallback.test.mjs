// A browser whose WebSockets are blocked (every WebSocket to the hub is closed by the test,
// as a proxy that refuses the upgrade would) still gets its invalidations: socket.io-client
// starts on HTTP long-polling, its upgrade probe fails, and it stays on polling. The page is
// served from another origin than the hub, so the hub runs with --allowed-origins (CORS).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { startHub, token, emit, eventually } from '../integration/lib/hub.mjs';
import { launchChromium, serveApp, json } from '../integration/lib/browser.mjs';

const appDir = fileURLToPath(new URL('./app/', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'nudge-browser-polling-'));
let balance = 100;
let hub;
let server;
let browser;
let base;

before(async () => {
  await build({ root: appDir, configFile: join(appDir, 'vite.config.mjs'), build: { outDir, emptyOutDir: true } });
  ({ server, base } = await serveApp(outDir, (url, req, res) => {
    if (url.pathname === '/api/token') return json(res, { token: token(url.searchParams.get('user')) });
    if (url.pathname === '/api/balance') return json(res, { balance });
    return false;
  }));
  hub = await startHub({ args: ['--allowed-origins', base] });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.close();
  await hub?.stop();
  rmSync(outDir, { recursive: true, force: true });
});

test('with WebSockets blocked, the page connects over polling and refetches after an event', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  let blocked = 0;
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    blocked += 1;
    ws.close({ code: 1006, reason: 'blocked by the test' });
  });
  try {
    await page.goto(`${base}/?user=blocked&hub=${encodeURIComponent(hub.url)}&transports=polling,websocket`);
    await page.locator('#status', { hasText: 'connected' }).waitFor();
    await page.locator('#balance', { hasText: '100' }).waitFor();
    await eventually(() => blocked >= 1);  // the upgrade was tried and refused
    balance = 250;
    assert.equal((await emit(hub, { room: 'user_blocked', event: 'balance_updated' })).status, 202);
    await page.locator('#balance', { hasText: '250' }).waitFor({ timeout: 10000 });
    // Still connected, on polling: a second event arrives the same way.
    balance = 300;
    await emit(hub, { room: 'user_blocked', event: 'balance_updated' });
    await page.locator('#balance', { hasText: '300' }).waitFor({ timeout: 10000 });
  } finally {
    await context.close();
  }
});
