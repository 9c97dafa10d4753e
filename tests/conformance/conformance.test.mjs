// The conformance suite: the behaviours every @nudge binding must have, written once against the
// core's contract and run against React, Vue, Solid, Svelte and Angular, each through a real app
// built with its framework's usual tooling (build.mjs), in Debian's Chromium, against one real
// hub (recovery on) behind a proxy the suite can cut. One hub, one Chromium and one build per
// app are shared by all tests. Every "nothing else was refetched" is proven with a marker event
// published afterwards and waited for, never with a sleep.
//
//   node --test tests/conformance/                            every framework
//   CONFORMANCE_FRAMEWORKS=vue,angular node --test tests/conformance/
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, token, emit, metrics, eventually } from '../integration/lib/hub.mjs';
import { launchChromium, serveApp, json } from '../integration/lib/browser.mjs';
import { cuttableProxy } from '../integration/lib/proxy.mjs';
import { buildApp, FRAMEWORKS } from './build.mjs';

const frameworks = (process.env.CONFORMANCE_FRAMEWORKS ?? Object.keys(FRAMEWORKS).join(','))
  .split(',').filter(Boolean);
for (const framework of frameworks) {
  if (!(framework in FRAMEWORKS)) throw new Error(`conformance: unknown framework "${framework}" in CONFORMANCE_FRAMEWORKS (one of ${Object.keys(FRAMEWORKS).join(', ')})`);
}

// The server side of every app: REST data per user (or project) and how often it was served.
const balances = new Map();
const served = new Map(); // `${user}:${what}` → requests
const projects = new Map(); // project id → version
const tokensServed = new Map(); // user → connection tokens handed out
const held = new Map(); // user → { arrived, released } for a balance request the test holds back
const tokenRooms = new Map(); // user → rooms its connection token grants (the `rooms` claim)
const count = (key) => served.get(key) ?? 0;
const bump = (key) => served.set(key, count(key) + 1);

function api(url, req, res) {
  const user = url.searchParams.get('user');
  switch (url.pathname) {
    case '/api/token': {
      const n = (tokensServed.get(user) ?? 0) + 1;
      tokensServed.set(user, n);
      // A user named refresh-*: the first token expires in 1 to 2 s (exp is in whole seconds), so
      // the hub closes the session and the client must come back with a fresh one. Not less: a
      // token already expired when a slow machine's CONNECT arrives is refused, not closed.
      const rooms = tokenRooms.has(user) ? { rooms: tokenRooms.get(user) } : {};
      return json(res, { token: token(user, { ...rooms, ...(user.startsWith('refresh-') && n === 1 ? { ttl: 2 } : {}) }) });
    }
    case '/api/subscription-token':
      return json(res, { token: token(user, { room: url.searchParams.get('room'), ttl: 60 }) });
    case '/api/project': {
      const id = url.searchParams.get('id');
      bump(`project:${id}`);
      return json(res, { version: projects.get(id) ?? 1 });
    }
    case '/api/marker':
      bump(`${user}:marker`);
      return json(res, { n: count(`${user}:marker`) });
    case '/api/balance': {
      bump(`${user}:balance`);
      // Read when the request arrives, as a server answering it would.
      const body = { balance: balances.get(user) ?? 100 };
      const hold = held.get(user);
      if (hold) {
        held.delete(user);
        hold.arrived();
        hold.released.then(() => json(res, body));
        return true;
      }
      return json(res, body);
    }
    default:
      return false;
  }
}

let hub;
let proxy;
let browser;
const apps = new Map(); // framework → { base, server }
const timings = new Map(); // framework → { build, cached, tests }

before(async () => {
  // --max-replay 1: a gap of two events to one room cannot be filled (nudge:resync names it);
  // --jwt-leeway 0: a token's session ends at its exp.
  hub = await startHub({ recovery: true, args: ['--max-replay', '1', '--jwt-leeway', '0'] });
  proxy = await cuttableProxy(hub.url);
  for (const framework of frameworks) {
    const built = await buildApp(framework);
    apps.set(framework, await serveApp(built.dir, api));
    timings.set(framework, { build: built.ms, cached: built.cached, tests: 0 });
  }
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const { server } of apps.values()) server.close();
  proxy?.close();
  await hub?.stop();
  for (const [framework, t] of timings) {
    console.log(`# conformance ${framework}: build ${t.cached ? 'cached' : `${t.build} ms`}, tests ${t.tests} ms`);
  }
});

const text = (page, selector) => page.locator(selector).textContent();
const seeText = (page, selector, value, timeout = 10_000) =>
  page.locator(selector, { hasText: new RegExp(`^${value}$`) }).waitFor({ timeout });
const connections = async () => (await metrics(hub)).nudge_connections;
const grantedJoins = async () => (await metrics(hub))['nudge_subscriptions_total{result="granted_token"}'] ?? 0;

/** Waits until the page's #marker shows a number other than `than`. */
const markerChanged = (page, than) => page.waitForFunction((previous) => {
  // Runs in the page (globalThis is its window).
  const shown = globalThis.document.querySelector('#marker')?.textContent ?? '';
  return /^\d+$/.test(shown) && shown !== previous;
}, than, { timeout: 10_000 });

/**
 * Publishes the marker to `user` and waits until every page shows its marker query refetched:
 * the marker goes through the same event map and coalescing as everything before it.
 */
async function marker(user, ...pages) {
  const before = await Promise.all(pages.map((page) => text(page, '#marker')));
  await emit(hub, { room: `user_${user}`, event: 'marker' });
  await Promise.all(pages.map((page, i) => markerChanged(page, before[i])));
}

for (const framework of frameworks) {
  describe(framework, () => {
    let context;
    const user = (name) => `${name}-${framework}`;
    // Project ids are numbers (the apps' query key is ['project', id]), distinct per framework.
    const projectId = (n) => String(frameworks.indexOf(framework) * 10 + n);
    const open = async (name, { project, page } = {}) => {
      page ??= await context.newPage();
      const errors = [];
      page.on('pageerror', (error) => errors.push(error.message));
      const query = new URLSearchParams({ user: user(name), hub: proxy.url, ...(project ? { project } : {}) });
      await page.goto(`${apps.get(framework).base}/?${query}`);
      await seeText(page, '#status', 'connected').catch((error) => {
        throw new Error(`${framework}: the page did not connect (${errors.join('; ') || 'no page error'}): ${error.message}`);
      });
      await seeText(page, '#balance', String(balances.get(user(name)) ?? 100));
      await markerChanged(page, '…');
      return page;
    };
    let started;
    before(async () => {
      started = Date.now();
    });
    after(() => {
      timings.get(framework).tests = Date.now() - started;
    });
    const withContext = (body) => async () => {
      context = await browser.newContext();
      try {
        await body();
      } finally {
        await context.close();
        // The next test counts sockets from zero.
        await eventually(async () => (await connections()) === 0, { timeoutMs: 10_000 });
      }
    };

    test('a burst of events: one refetch, and the event hook sees each', withContext(async () => {
      const page = await open('burst');
      balances.set(user('burst'), 200);
      const burst = Array.from({ length: 10 }, () => ({ room: `user_${user('burst')}`, event: 'balance_updated' }));
      assert.equal((await emit(hub, { events: burst })).status, 202);
      await seeText(page, '#balance', '200');
      await seeText(page, '#seen', '10');
      await marker(user('burst'), page);
      assert.equal(count(`${user('burst')}:balance`), 2, 'one refetch for ten events');
    }));

    test('an event during the first load is kept: the query refetches after that load', withContext(async () => {
      let arrived;
      let release;
      held.set(user('load'), {
        arrived: () => arrived(),
        released: new Promise((resolve) => { release = resolve; }),
      });
      const requestArrived = new Promise((resolve) => { arrived = resolve; });
      const page = await context.newPage();
      const query = new URLSearchParams({ user: user('load'), hub: proxy.url });
      await page.goto(`${apps.get(framework).base}/?${query}`);
      await requestArrived; // the first load is in flight, and held
      await seeText(page, '#status', 'connected');
      balances.set(user('load'), 300);
      await emit(hub, { room: `user_${user('load')}`, event: 'balance_updated' });
      await seeText(page, '#seen', '1'); // the event reached the page during the load
      release();
      await seeText(page, '#balance', '300');
      await marker(user('load'), page);
      assert.equal(count(`${user('load')}:balance`), 2, 'the held load, then one refetch');
    }));

    test('a recovered blip: no refetch', withContext(async () => {
      const id = projectId(1);
      const page = await open('blip', { project: id });
      await seeText(page, '#project', 'version 1');
      const recovered = (await metrics(hub)).nudge_sessions_recovered_total ?? 0;
      proxy.cut();
      await page.locator('#status', { hasNotText: /^connected$/ }).waitFor({ timeout: 10_000 });
      proxy.restore();
      await seeText(page, '#status', 'connected');
      await eventually(async () => (await metrics(hub)).nudge_sessions_recovered_total === recovered + 1);
      await marker(user('blip'), page);
      assert.equal(count(`${user('blip')}:balance`), 1, 'balance not refetched');
      assert.equal(count(`project:${id}`), 1, 'project not refetched');
    }));

    test("an unrecovered gap: only the named rooms' keys refetch", withContext(async () => {
      const id = projectId(2);
      // The hub recovers the rooms of the token (a room joined with nudge:subscribe is joined
      // again by the client after the reconnect), so the project room is granted by the token.
      tokenRooms.set(user('gap'), [`project_${id}`]);
      const page = await open('gap', { project: id });
      const resynced = (await metrics(hub)).nudge_sessions_resynced_total ?? 0;
      await seeText(page, '#project', 'version 1');
      proxy.cut();
      await page.locator('#status', { hasNotText: /^connected$/ }).waitFor({ timeout: 10_000 });
      projects.set(id, 3);
      // Two events for one room while away: more than --max-replay 1, so the hub names the room.
      for (let i = 0; i < 2; i++) await emit(hub, { room: `project_${id}`, event: 'project_updated', data: { id: Number(id) } });
      proxy.restore();
      await seeText(page, '#project', 'version 3');
      await eventually(async () => (await metrics(hub)).nudge_sessions_resynced_total === resynced + 1);
      await marker(user('gap'), page);
      assert.equal(count(`project:${id}`), 2, 'the lost room\'s query refetched once');
      assert.equal(count(`${user('gap')}:balance`), 1, 'the other room\'s queries not refetched');
    }));

    test('a room is joined while its page is open and left when it closes', withContext(async () => {
      const id = projectId(3);
      // The page joins the room with nudge:subscribe once it has fetched a subscription token:
      // an event published before the hub granted that join is not the room's to deliver.
      const grantedBefore = await grantedJoins();
      const page = await open('room', { project: id });
      await seeText(page, '#project', 'version 1');
      await eventually(async () => (await grantedJoins()) === grantedBefore + 1);
      projects.set(id, 2);
      await emit(hub, { room: `project_${id}`, event: 'project_updated', data: { id: Number(id) } });
      await seeText(page, '#project', 'version 2');
      await seeText(page, '#project-events', '1');

      const left = (await metrics(hub))['nudge_subscriptions_total{result="unsubscribed"}'] ?? 0;
      await page.locator('#leave').click();
      await seeText(page, '#project', 'closed');
      await eventually(async () => (await metrics(hub))['nudge_subscriptions_total{result="unsubscribed"}'] === left + 1);
      await emit(hub, { room: `project_${id}`, event: 'project_updated', data: { id: Number(id) } });
      await marker(user('room'), page);
      assert.equal(await text(page, '#project-events'), '1', 'no event of the room after leaving it');
      assert.equal(count(`project:${id}`), 2);
    }));

    test('two tabs share one socket and both refetch', withContext(async () => {
      const first = await open('tabs');
      const second = await open('tabs');
      assert.deepEqual([await text(first, '#role'), await text(second, '#role')].sort(), ['follower', 'leader']);
      await eventually(async () => (await connections()) === 1);
      balances.set(user('tabs'), 410);
      await emit(hub, { room: `user_${user('tabs')}`, event: 'balance_updated' });
      await seeText(first, '#balance', '410');
      await seeText(second, '#balance', '410');
      await marker(user('tabs'), first, second);
      assert.equal(await connections(), 1, 'one socket for two tabs');
    }));

    test('an expired token: the client reconnects with a fresh one and keeps invalidating', withContext(async () => {
      const expired = (await metrics(hub))['nudge_disconnects_total{reason="token_expired"}'] ?? 0;
      const page = await open('refresh');
      await eventually(() => (tokensServed.get(user('refresh')) ?? 0) >= 2, { timeoutMs: 15_000 });
      await seeText(page, '#status', 'connected');
      assert.equal((await metrics(hub))['nudge_disconnects_total{reason="token_expired"}'], expired + 1);
      balances.set(user('refresh'), 520);
      await emit(hub, { room: `user_${user('refresh')}`, event: 'balance_updated' });
      await seeText(page, '#balance', '520');
    }));
  });
}
