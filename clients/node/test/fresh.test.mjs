// freshReads in a real Express app: the position hooks stand for a primary and a replica whose
// applied position the test moves (the Postgres side is tested in clients/python/tests/test_fresh.py
// and tests/fresh/); the middleware waits, falls back to the primary, routes and sets headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import express from 'express';
import { currentFreshRead, freshRead, freshReads, versionValue } from '../dist/index.js';

// A primary at `primary` and a replica at `replica` (LSNs as numbers), with a value per position.
function databases() {
  const db = { primary: 0x100, replica: 0x100, lookups: 0 };
  const lsn = (n) => `0/${n.toString(16).toUpperCase()}`;
  db.hooks = {
    replicaPosition: async () => { db.lookups++; return lsn(db.replica); },
    primaryPosition: async () => lsn(db.primary),
  };
  return db;
}

async function serve(db, options = {}) {
  const app = express();
  app.use(freshReads({ ...db.hooks, pollMs: 1, ...options }));
  app.all('/x', (req, res) => {
    const read = freshRead(req);
    assert.deepEqual(currentFreshRead(), read); // the same inside the request's context
    res.json({ db: read.db, value: read.db === 'primary' ? db.primary : db.replica });
  });
  app.get('/fail', (req, res) => res.status(500).json({ error: 'boom' }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => new Promise((r) => server.close(r)) };
}

const get = async (url, init) => {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: await res.json() };
};

test('without a minimum it reads from the replica and says where (Nudge-Version, Vary)', async () => {
  const db = databases();
  db.primary = 0x200; // the replica lags
  const app = await serve(db);
  try {
    const { body, headers } = await get(`${app.url}/x`);
    assert.deepEqual(body, { db: 'replica', value: 0x100 });
    assert.equal(headers.get('nudge-version'), '0/100');
    assert.match(headers.get('vary'), /Nudge-Min-Version/);
    assert.equal(headers.get('cache-control'), null);
  } finally { await app.close(); }
});

test('waits for the replica to apply Nudge-Min-Version, then reads from it', async () => {
  const db = databases();
  db.primary = 0x200;
  const app = await serve(db, { timeoutMs: 60_000 });
  try {
    const answer = get(`${app.url}/x`, { headers: { 'Nudge-Min-Version': '0/200' } });
    // The replica catches up after the middleware has looked a few times.
    while (db.lookups < 3) await new Promise((r) => setTimeout(r, 1));
    db.replica = 0x200;
    const { body, headers } = await answer;
    assert.deepEqual(body, { db: 'replica', value: 0x200 });
    assert.ok(versionValue(headers.get('nudge-version')) >= versionValue('0/200'));
    assert.match(headers.get('server-timing'), /^nudge;dur=[\d.]+;desc="replica, waited"$/);
  } finally { await app.close(); }
});

test('past maxWaiting a request reads from the primary without waiting', async () => {
  const db = databases();
  db.primary = 0x200;
  const app = await serve(db, { timeoutMs: 60_000, maxWaiting: 1 });
  try {
    const first = get(`${app.url}/x`, { headers: { 'Nudge-Min-Version': '0/200' } });
    while (db.lookups < 2) await new Promise((r) => setTimeout(r, 1)); // the first one waits
    const second = await get(`${app.url}/x`, { headers: { 'Nudge-Min-Version': '0/200' } });
    assert.deepEqual(second.body, { db: 'primary', value: 0x200 });
    assert.match(second.headers.get('server-timing'), /desc="primary"$/); // did not wait
    db.replica = 0x200; // the first one's wait ends on the replica
    assert.deepEqual((await first).body, { db: 'replica', value: 0x200 });
  } finally { await app.close(); }
});

test('past the timeout it reads from the primary; writes always do', async () => {
  const db = databases();
  db.primary = 0x200;
  const app = await serve(db, { timeoutMs: 30 });
  try {
    const { body, headers } = await get(`${app.url}/x`, { headers: { 'Nudge-Min-Version': '0/200' } });
    assert.deepEqual(body, { db: 'primary', value: 0x200 });
    assert.equal(headers.get('nudge-version'), '0/200');
    const posted = await get(`${app.url}/x`, { method: 'POST' });
    assert.deepEqual(posted.body, { db: 'primary', value: 0x200 });
  } finally { await app.close(); }
});

test('version-keyed URLs are cacheable (2xx only); the higher of header and nudge_v counts', async () => {
  const db = databases();
  const app = await serve(db, { timeoutMs: 30, cacheSeconds: 120 });
  try {
    const keyed = await get(`${app.url}/x?nudge_v=${encodeURIComponent('0/100')}`);
    assert.equal(keyed.headers.get('cache-control'), 'max-age=120');
    assert.equal(keyed.body.db, 'replica');
    const failed = await get(`${app.url}/fail?nudge_v=1`);
    assert.equal(failed.status, 500);
    assert.equal(failed.headers.get('cache-control'), null);
    // 256 = 0/100 is applied, 0/101 is not: the header's higher minimum sends it to the primary.
    const both = await get(`${app.url}/x?nudge_v=256`, { headers: { 'Nudge-Min-Version': '0/101' } });
    assert.equal(both.body.db, 'primary');
  } finally { await app.close(); }
});

test('a malformed version is a 400 invalid_field naming where it came from', async () => {
  const app = await serve(databases());
  try {
    for (const bad of ['abc', '-1', '1.5', '0/', '123456789/0', '18446744073709551616']) {
      const header = await get(`${app.url}/x`, { headers: { 'Nudge-Min-Version': bad } });
      assert.equal(header.status, 400, bad);
      assert.equal(header.body.error.code, 'invalid_field');
      assert.match(header.body.error.message, /Nudge-Min-Version/);
      const param = await get(`${app.url}/x?nudge_v=${encodeURIComponent(bad)}`);
      assert.equal(param.status, 400, bad);
      assert.match(param.body.error.message, /nudge_v/);
    }
  } finally { await app.close(); }
});
