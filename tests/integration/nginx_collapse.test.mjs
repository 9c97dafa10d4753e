// deploy/nginx/api-collapse.conf in front of a stand-in API: a real nginx (Debian's, two
// workers) and an origin that counts the requests it gets and holds its answers until the test
// has sent every request. Many simultaneous refetches of one versioned URL (`?nudge_v=`) reach
// the origin at most once per nginx worker; every client gets the answer; another version is a
// new request; an unversioned URL is never cached.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, Agent } from 'node:http';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './lib/hub.mjs';
import { localize, startNginx } from './lib/nginx.mjs';

const WORKERS = 2;
let dir;
let nginx;
let origin;
let base;
const seen = []; // request URLs the origin got, in order
let held = []; // answers the origin holds back
let holding = false;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nudge-collapse-'));
  mkdirSync(join(dir, 'cache'));
  origin = createServer((req, res) => {
    seen.push(req.url);
    const answer = () => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ url: req.url, n: seen.length }));
    };
    if (holding) held.push(answer);
    else answer();
  });
  await new Promise((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const site = localize('api-collapse.conf', {
    'cache path': `proxy_cache_path ${dir}/cache levels=1:2 keys_zone=nudge_api:10m max_size=64m inactive=10m use_temp_path=off;`,
    origin: `    server 127.0.0.1:${origin.address().port};`,
    port: `    listen 127.0.0.1:${port};`,
  });
  nginx = await startNginx(dir, site, {
    workers: WORKERS,
    ready: async () => (await get('/api/ready')).status === 200,
  });
});

after(async () => {
  for (const answer of held) answer();
  await nginx?.stop();
  await new Promise((resolve) => (origin ? origin.close(resolve) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// A fresh connection per request (no keep-alive), as many browsers would open.
function get(path, onSent) {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { agent: new Agent({ keepAlive: false }) }, (res) => {
      let text = '';
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, cache: res.headers['x-cache-status'], text }));
    });
    req.on('error', reject);
    req.on('finish', () => onSent?.());
    req.end();
  });
}

const originHits = (url) => seen.filter((u) => u === url).length;

test('200 simultaneous refetches of one versioned URL reach the origin at most once per worker', async () => {
  const url = '/api/rates?nudge_v=0%2F16B3748';
  const COUNT = 200;
  holding = true;
  let sent = 0;
  let allSent;
  const everySent = new Promise((resolve) => { allSent = resolve; });
  const answers = Array.from({ length: COUNT }, () => get(url, () => { if (++sent === COUNT) allSent(); }));
  await everySent;
  // Every request is on its way and the origin has seen at least the first: let it answer.
  while (originHits(url) === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  holding = false;
  for (const answer of held.splice(0)) answer();
  const results = await Promise.all(answers);

  const hits = originHits(url);
  assert.ok(hits >= 1 && hits <= WORKERS, `the origin got ${hits} requests for ${url}`);
  assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]));
  // Every client has the same answer: the one the origin gave (once per worker at most).
  assert.ok(new Set(results.map((r) => r.text)).size <= hits);
  for (const r of results) assert.equal(JSON.parse(r.text).url, url);
  const misses = results.filter((r) => r.cache === 'MISS').length;
  assert.ok(misses >= 1 && misses <= WORKERS, `${misses} answers were misses`);

  // Later: from the cache, no new origin request.
  assert.equal((await get(url)).cache, 'HIT');
  assert.equal(originHits(url), hits);
});

test('a newer version is a new origin request; an unversioned URL is never cached', async () => {
  const newer = '/api/rates?nudge_v=0%2F16B3800';
  const first = await get(newer);
  assert.equal(first.cache, 'MISS');
  assert.equal(originHits(newer), 1);
  assert.equal((await get(newer)).cache, 'HIT');

  const plain = '/api/rates';
  await get(plain);
  const second = await get(plain);
  assert.equal(originHits(plain), 2);
  assert.equal(second.cache, 'BYPASS');
});
