// Wrong API keys: logged with the source address (rate-limited), counted, and optionally
// answered 429 per source after repeated failures (--api-auth-backoff).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, emit, metrics, eventually } from './lib/hub.mjs';

const event = { room: 'user_k', event: 'e' };

test('wrong keys are counted and logged with the source address, at most once per interval', async () => {
  const hub = await startHub();
  try {
    for (let i = 0; i < 20; i += 1) {
      assert.equal((await emit(hub, event, { apiKey: `wrong-${i}` })).status, 401);
    }
    assert.equal((await emit(hub, event)).status, 202);
    const m = await metrics(hub);
    assert.equal(m.nudge_api_auth_failures_total, 20);
    assert.equal(m['nudge_api_requests_total{status="401"}'], 20);
    await eventually(() => /api key rejected source=127\.0\.0\.1/.test(hub.output()));
    // 20 failures within the 10 s log interval: one line, not twenty.
    assert.equal(hub.output().match(/api key rejected/g).length, 1);
  } finally {
    await hub.stop();
  }
});

test('no backoff by default: the right key works right after many wrong ones', async () => {
  const hub = await startHub();
  try {
    for (let i = 0; i < 30; i += 1) await emit(hub, event, { apiKey: 'wrong' });
    assert.equal((await emit(hub, event)).status, 202);
    assert.equal((await metrics(hub)).nudge_api_auth_backoffs_total, 0);
  } finally {
    await hub.stop();
  }
});

test('--api-auth-backoff 3: the source gets 429 with Retry-After, counted', async () => {
  const hub = await startHub({ args: ['--api-auth-backoff', '3', '--api-auth-backoff-seconds', '120'] });
  try {
    for (let i = 0; i < 3; i += 1) assert.equal((await emit(hub, event, { apiKey: 'wrong' })).status, 401);
    const response = await fetch(`${hub.url}/api/v1/emit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer integration-api-key' },
      body: JSON.stringify(event),
    });
    assert.equal(response.status, 429);
    const retryAfter = Number(response.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 120, `Retry-After ${retryAfter}`);
    assert.equal((await response.json()).error.code, 'too_many_auth_failures');
    const m = await metrics(hub);
    assert.equal(m.nudge_api_auth_backoffs_total, 1);
    assert.equal(m['nudge_api_requests_total{status="429"}'], 1);
  } finally {
    await hub.stop();
  }
});
