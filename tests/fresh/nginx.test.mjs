// Issue 22's HTTP cache test: a real nginx with proxy_cache in front of the bank's Django
// backend (reading from a standby 1 s behind, with nudge's fresh-data middleware), the front end
// in the version-keyed URL mode (?nudge_v=). Two devices (browser contexts, each with its own
// socket and HTTP cache) of one user refetch the same versioned URL after each event: one goes
// to the bank, the other is a hit of nginx's cache.
//   versioned  the cache keys on the whole URL, version included, and caches only versioned
//              URLs: zero balances older than their event, cache hits counted.
//   naive      the control: a cache that ignores the query string (and the answers' headers)
//              answers every refetch with the first balance. The front end sees the old
//              Nudge-Version, refetches a few times, then says it is behind: the balance shown
//              is older than the event, and flagged, never passed off as current.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, SECRET, API_KEY, freePort } from '../integration/lib/hub.mjs';
import { startNginx } from '../integration/lib/nginx.mjs';
import { startDjangoBank } from '../../examples/bank/server/django.mjs';
import { bankFrontEnd, bankPages, CYCLES, launchChromium, startReplicated } from './lib.mjs';

let db;
let hub;
let bank;
let browser;
let nginx;
let dir;
const urls = {};

// The recipe of docs/fresh-data.md, and a cache that ignores the version (the control).
const site = ({ bankPort, versionedPort, naivePort }) => `
upstream bank { server 127.0.0.1:${bankPort}; keepalive 8; }
proxy_cache_path ${dir}/versioned levels=1:2 keys_zone=versioned:1m max_size=16m inactive=10m use_temp_path=off;
proxy_cache_path ${dir}/naive levels=1:2 keys_zone=naive:1m max_size=16m inactive=10m use_temp_path=off;
map $arg_nudge_v $unversioned { "" 1; default 0; }

server {
  listen 127.0.0.1:${versionedPort};
  location /api/ {
    proxy_pass http://bank;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_cache versioned;
    # The whole URL (nudge_v included) and the caller: an answer is shared only by requests for
    # the same user at the same version (the answers' Vary: Nudge-Min-Version is honoured).
    proxy_cache_key "$request_method $request_uri $http_authorization";
    proxy_no_cache $unversioned;
    proxy_cache_bypass $unversioned;
    proxy_cache_lock on;
    add_header X-Cache-Status $upstream_cache_status always;
  }
  location / { proxy_pass http://bank; }
}

server {
  listen 127.0.0.1:${naivePort};
  location /api/ {
    proxy_pass http://bank;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_cache naive;
    proxy_cache_key "$request_method $uri $http_authorization";
    proxy_cache_methods GET;
    proxy_ignore_headers Cache-Control Vary Expires;
    proxy_cache_valid 200 10m;
    add_header X-Cache-Status $upstream_cache_status always;
  }
  location / { proxy_pass http://bank; }
}
`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nudge-fresh-nginx-'));
  const [staticDir, replicated, started] = await Promise.all([
    bankFrontEnd(), startReplicated({ delay: '1s' }), startHub(),
  ]);
  db = replicated;
  hub = started;
  bank = await startDjangoBank({
    port: 0, hubUrl: hub.url, apiKey: API_KEY, jwtSecret: SECRET, staticDir, log: () => {},
    databaseUrl: db.primary, replicaUrl: db.standby, freshTimeout: 10, freshMode: 'url',
  });
  await db.caughtUp();
  const ports = { bankPort: new URL(bank.url).port, versionedPort: await freePort(), naivePort: await freePort() };
  urls.versioned = `http://127.0.0.1:${ports.versionedPort}`;
  urls.naive = `http://127.0.0.1:${ports.naivePort}`;
  for (const cache of ['versioned', 'naive']) mkdirSync(join(dir, cache));
  nginx = await startNginx(dir, site(ports), {
    ready: async () => {
      const answers = await Promise.all(Object.values(urls).map((url) => fetch(`${url}/api/config`).catch(() => null)));
      return answers.every((answer) => answer?.status === 200);
    },
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await nginx?.stop();
  await bank?.close();
  await hub?.stop();
  await db?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function cycles(url, username, password, count) {
  const dashboards = await bankPages(browser, url, username, password, { devices: 2 });
  const stale = [];
  const flagged = [];
  try {
    for (let i = 0; i < count; i++) {
      const { expected, shown } = await dashboards.pay();
      for (const [device, balance] of shown.entries()) {
        if (balance === expected) continue;
        stale.push({ cycle: i, device, expected, shown: balance });
        flagged.push(await dashboards.pages[device].locator('.balance-card').getAttribute('data-behind'));
      }
    }
    assert.deepEqual(dashboards.errors, []);
    return { stale, flagged, cache: dashboards.cache };
  } finally {
    await dashboards.close();
  }
}

test(`versioned URLs through nginx proxy_cache: zero stale balances, cache hits (${CYCLES} cycles, 2 devices)`, async () => {
  const { stale, cache } = await cycles(urls.versioned, 'alice', 'wonderland', CYCLES);
  assert.deepEqual(stale, []);
  const hits = cache.filter((status) => status === 'HIT').length;
  const misses = cache.filter((status) => status === 'MISS').length;
  console.log(`# fresh nginx: ${hits} cache hits, ${misses} misses, ${cache.length - hits - misses} bypassed over ${CYCLES} events on 2 devices`);
  assert.ok(hits > 0, `the second device's refetch of each version is served by the cache: ${cache.join(' ')}`);
});

test('control: a cache that ignores the version serves old balances, and the page says it is behind', async () => {
  const { stale, flagged } = await cycles(urls.naive, 'bob', 'builder', Math.min(CYCLES, 3));
  console.log(`# fresh nginx control: ${stale.length} stale balances, ${flagged.filter((f) => f === 'true').length} of them flagged`);
  assert.ok(stale.length > 0, 'the control must record stale renders, or the test cannot fail');
  assert.deepEqual(flagged, stale.map(() => 'true'), 'every stale balance is flagged as behind');
});
