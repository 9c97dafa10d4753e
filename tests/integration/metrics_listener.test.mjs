// /metrics on a separate listener (--metrics-host/--metrics-port).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, seedClient, token, connected, emit } from './lib/hub.mjs';

async function metricsUrl(hub) {
  const match = /metrics listener at (http:\/\/[\d.]+:\d+)/.exec(hub.output());
  assert.ok(match, hub.output());
  return match[1];
}

test('with --metrics-port, /metrics moves to its own listener and the main one answers 404', async () => {
  const hub = await startHub({ args: ['--metrics-host', '127.0.0.1', '--metrics-port', '0'] });
  try {
    const url = await metricsUrl(hub);
    assert.notEqual(url, hub.url);
    const socket = await connected(seedClient(hub.url, token('m1')));

    const scraped = await fetch(`${url}/metrics`);
    assert.equal(scraped.status, 200);
    assert.match(scraped.headers.get('content-type'), /^text\/plain/);
    assert.match(await scraped.text(), /^nudge_sessions 1$/m);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);

    const hidden = await fetch(`${hub.url}/metrics`);
    assert.equal(hidden.status, 404);
    assert.equal((await hidden.json()).error.code, 'not_found');
    assert.equal((await fetch(`${hub.url}/healthz`)).status, 200);

    // The metrics listener serves nothing else: no publish API, no Engine.IO.
    const publish = await fetch(`${url}/api/v1/emit`, {
      method: 'POST',
      headers: { authorization: 'Bearer integration-api-key', 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'user_m1', event: 'e' }),
    });
    assert.equal(publish.status, 404);
    assert.equal((await fetch(`${url}/socket.io/?EIO=4&transport=websocket`)).status, 404);
    // The main listener still publishes.
    assert.equal((await emit(hub, { room: 'user_m1', event: 'e' })).status, 202);
    socket.disconnect();
  } finally {
    await hub.stop();
  }
});

test('without --metrics-port, /metrics stays on the main listener', async () => {
  const hub = await startHub();
  try {
    assert.doesNotMatch(hub.output(), /metrics listener at/);
    assert.equal((await fetch(`${hub.url}/metrics`)).status, 200);
  } finally {
    await hub.stop();
  }
});

test('a metrics port that cannot be bound fails at start with a clear message', async () => {
  const first = await startHub({ args: ['--metrics-port', '0'] });
  try {
    const port = new URL(await metricsUrl(first)).port;
    await assert.rejects(startHub({ args: ['--metrics-port', port] }), /cannot listen on 127\.0\.0\.1:\d+ for metrics/);
  } finally {
    await first.stop();
  }
});
