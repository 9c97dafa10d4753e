// A browser whose WebSockets are blocked (every WebSocket to the hub is closed by the test,
// as a proxy that refuses the upgrade would) still gets its invalidations: socket.io-client
// starts on HTTP long-polling, its upgrade probe fails, and it stays on polling. The page is
// served from another origin than the hub, so the hub runs with --allowed-origins (CORS).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { chromium } from 'playwright-core';
import { startHub, token, emit, eventually } from '../integration/lib/hub.mjs';

const appDir = fileURLToPath(new URL('./app/', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'nudge-browser-polling-'));
let balance = 100;
let hub;
let server;
let browser;
let base;

const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

before(async () => {
  await build({ root: appDir, configFile: join(appDir, 'vite.config.mjs'), build: { outDir, emptyOutDir: true } });
  server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/api/token') {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ token: token(url.searchParams.get('user')) }));
    }
    if (url.pathname === '/api/balance') {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ balance }));
    }
    const file = normalize(join(outDir, url.pathname === '/' ? 'index.html' : url.pathname));
    if (!file.startsWith(outDir) || !existsSync(file)) {
      res.statusCode = 404;
      return res.end();
    }
    res.setHeader('content-type', types[extname(file)] ?? 'application/octet-stream');
    return res.end(readFileSync(file));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${server.address().port}`;
  hub = await startHub({ args: ['--allowed-origins', base] });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
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
