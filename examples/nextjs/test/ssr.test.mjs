// The Next.js example in Debian's Chromium against the real hub (--recovery on): the server
// renders at a position, an event is published after the render and before the browser's
// socket connects, and after hydration exactly that account is refetched, once; the others
// are never fetched by the browser (counted by the test's backend, the example's backend.mjs).
//
// `next build` takes a minute on a small machine: it runs only when the example's sources or
// @nudge/query-core's or @nudge/react-query's dist/ changed (a hash of them is kept in .next/nudge-sources).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHub, freePort, API_KEY, SECRET } from '../../../tests/integration/lib/hub.mjs';
import { launchChromium } from '../../../tests/integration/lib/browser.mjs';
import { createBackend } from '../backend.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const clientDists = ['query-core', 'react-query'].map((name) =>
  fileURLToPath(new URL(`../../../clients/${name}/dist`, import.meta.url)));
const nextBin = fileURLToPath(new URL('../../../node_modules/next/dist/bin/next', import.meta.url));

const files = (dir) => readdirSync(dir).flatMap((name) => {
  const path = join(dir, name);
  return statSync(path).isDirectory() ? files(path) : [path];
});

function sourcesHash() {
  const hash = createHash('sha256');
  const inputs = [...files(join(root, 'app')), ...files(join(root, 'lib')), ...clientDists.flatMap(files),
    ...['next.config.mjs', 'package.json', 'tsconfig.json'].map((f) => join(root, f))].sort();
  for (const file of inputs) hash.update(`${relative(root, file)}\0`).update(readFileSync(file));
  return hash.digest('hex');
}

function buildOnce() {
  const stamp = join(root, '.next', 'nudge-sources');
  const hash = sourcesHash();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return { built: false, ms: 0 };
  const started = Date.now();
  const result = spawnSync(process.execPath, [nextBin, 'build'], {
    cwd: root, encoding: 'utf8', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
  });
  assert.equal(result.status, 0, `next build failed:\n${result.stdout}\n${result.stderr}`);
  writeFileSync(stamp, hash);
  return { built: true, ms: Date.now() - started };
}

const reads = { next: new Map(), browser: new Map() };
let releaseToken;
let hub;
let backend;
let backendUrl;
let next;
let nextUrl;
let browser;

before(async () => {
  const build = buildOnce();
  console.log(`# next build: ${build.built ? `${build.ms} ms` : 'cached'}`);
  hub = await startHub({ recovery: true });
  backend = createBackend({
    hubUrl: hub.url,
    apiKey: API_KEY,
    jwtSecret: SECRET,
    onRequest: (req, url) => {
      const [, collection, id, action] = url.pathname.split('/');
      if (req.method !== 'GET' || collection !== 'accounts' || action !== undefined) return;
      const by = req.headers['x-rendered-by'] === 'next' ? reads.next : reads.browser;
      by.set(id, (by.get(id) ?? 0) + 1);
    },
  });
  backend.listen(0, '127.0.0.1');
  await once(backend, 'listening');
  backendUrl = `http://127.0.0.1:${backend.address().port}`;
  const port = await freePort();
  next = spawn(process.execPath, [nextBin, 'start', '-H', '127.0.0.1', '-p', String(port)], {
    cwd: root,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NUDGE_URL: hub.url, NUDGE_API_KEY: API_KEY, BACKEND_URL: backendUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise((resolve, reject) => {
    next.stdout.on('data', (chunk) => {
      output += chunk;
      if (/Ready in|started server/i.test(output)) resolve();
    });
    next.stderr.on('data', (chunk) => { output += chunk; });
    next.on('exit', (code) => reject(new Error(`next start exited (${code}):\n${output}`)));
  });
  nextUrl = `http://127.0.0.1:${port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  next?.kill();
  backend?.close();
  await hub?.stop();
});

const deposit = async (id, amount) => {
  const response = await fetch(`${backendUrl}/accounts/${id}/deposit`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount }),
  });
  assert.equal(response.status, 200, await response.text());
};

test('an event between the server render and the socket\'s CONNECT refetches exactly its key, once', async () => {
  const page = await browser.newPage();
  // The socket asks for its token right before connecting: holding that answer holds the
  // CONNECT, so the deposit below lands after the render and before the socket connects.
  const tokenAsked = new Promise((resolve) => {
    page.route(`${backendUrl}/token`, async (route) => {
      await new Promise((release) => { releaseToken = release; resolve(); });
      await route.continue();
    });
  });
  await page.goto(nextUrl);
  // Server-rendered: the balances are in the HTML, read once each by the server.
  assert.equal(await page.locator('#balance-savings').textContent(), '100');
  assert.deepEqual(Object.fromEntries(reads.next), { checking: 1, savings: 1, card: 1 });
  await tokenAsked;
  await deposit('savings', 50);
  releaseToken();
  await page.locator('#status', { hasText: 'connected' }).waitFor();
  await page.locator('#balance-savings', { hasText: '150' }).waitFor();
  // The marker: a live event after the replay; once it has shown, any other refetch would have.
  await deposit('card', 7);
  await page.locator('#balance-card', { hasText: '107' }).waitFor();
  assert.deepEqual(Object.fromEntries(reads.browser), { savings: 1, card: 1 },
    'the browser read only what changed, once each; nothing after hydration');
  assert.deepEqual(Object.fromEntries(reads.next), { checking: 1, savings: 1, card: 1 });
  await page.close();
});
