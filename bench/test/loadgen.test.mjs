// nudge-loadgen clients against servers that do not keep every client: it must always finish,
// count each client once, and print its "ready" line before the report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadgen, startStandin, until, within } from './lib.mjs';

const clientArgs = (url, ...more) => ['clients', '--url', url, '--secret', 's', '--count', '20', ...more];

test('clients whose WebSocket handshake is never answered are counted as stalled and closed at the timeout',
  async (t) => {
    const server = await startStandin('stall');
    t.after(() => server.stop());
    const lg = loadgen(clientArgs(server.url, '--timeout', '2', '--hold'));
    t.after(() => lg.kill());

    const ready = await within(60000, 'ready line', lg.line((l) => 'ready' in l));
    assert.deepEqual(ready, {
      ready: false, gave_up: 'timeout', connected: 10, held: 10, failed: 0, refused: 0, dropped: 0, stalled: 10,
    });
    const report = await within(10000, 'report', lg.line((l) => 'clients' in l));
    assert.equal(lg.lines.indexOf(ready) < lg.lines.indexOf(report), true, 'ready line before the report');
    assert.equal(report.stalled, 10);
    assert.equal(report.held, 10);
    assert.equal(report.held_max, 10);

    // Still holding (stdin open): the stalled clients are closed, the connected ones are not.
    const seen = await until(20000, 'stand-in sees the stalled clients closed', server.metrics,
      (m) => m.stalledClosed === 10);
    assert.equal(seen.stalled, 10);
    assert.equal(seen.held, 10);

    lg.release();
    assert.equal(await within(20000, 'exit', lg.exited), 1, 'not every client was held: exit code 1');
  });

test('clients the server closes after connecting are counted as dropped and not waited for', async (t) => {
  const server = await startStandin('drop');
  t.after(() => server.stop());
  // A timeout far beyond the wait below: the load generator must end because every client it
  // still holds got the event, not because it gave up.
  const lg = loadgen(clientArgs(server.url, '--expect-events', '1', '--timeout', '600'));
  t.after(() => lg.kill());

  const ready = await within(60000, 'ready line', lg.line((l) => 'ready' in l));
  // Every client got its CONNECT acknowledged; the closes may still be on their way.
  assert.equal(ready.ready, true);
  assert.equal(ready.connected, 20);
  assert.equal(ready.held + ready.dropped, 20);
  assert.deepEqual([ready.failed, ready.refused, ready.stalled], [0, 0, 0]);
  const response = await fetch(`${server.url}/api/v1/emit`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ room: 'all', event: 'bench', data: { t: 0 } }),
  });
  assert.equal(response.status, 202);

  // The dropped clients never joined "all": the load generator can only have stopped waiting
  // once every one of their closes was counted.
  const report = await within(60000, 'report', lg.line((l) => 'clients' in l));
  assert.equal(report.held, 10);
  assert.equal(report.events, 10);
  assert.equal(report.clients_complete, 10);
  assert.equal(report.dropped, 10);
  assert.equal(report.held_max >= 10, true);
  assert.equal(await within(20000, 'exit', lg.exited), 1);
});

test('every client connected and held: ready is true, nothing stalled, exit code 0', async (t) => {
  // The stand-in keeps every first client of two; with one client, it keeps all.
  const server = await startStandin('drop');
  t.after(() => server.stop());
  const lg = loadgen(['clients', '--url', server.url, '--secret', 's', '--count', '1', '--timeout', '600']);
  t.after(() => lg.kill());
  const ready = await within(60000, 'ready line', lg.line((l) => 'ready' in l));
  assert.deepEqual(ready, { ready: true, connected: 1, held: 1, failed: 0, refused: 0, dropped: 0, stalled: 0 });
  // Without --expect-* it waits for a signal or its timeout; SIGINT ends it with a report.
  lg.interrupt();
  const report = await within(20000, 'report', lg.line((l) => 'clients' in l));
  assert.equal(report.held, 1);
  assert.equal(await within(20000, 'exit', lg.exited), 0);
});

test('--connect-timeout gives up on the clients still connecting and goes on; --progress lines carry the '
  + 'counts, the events and the latency histogram', async (t) => {
  const server = await startStandin('stall');
  t.after(() => server.stop());
  const lg = loadgen(clientArgs(server.url, '--connect-timeout', '2', '--timeout', '600', '--progress', '50', '--hold'));
  t.after(() => lg.kill());

  const ready = await within(60000, 'ready line', lg.line((l) => 'ready' in l));
  assert.deepEqual(ready, {
    ready: false, gave_up: 'timeout', connected: 10, held: 10, failed: 0, refused: 0, dropped: 0, stalled: 10,
  });
  // Still running (the --timeout is far away): progress goes on after the ready line.
  const idle = await within(10000, 'progress after the ready line',
    lg.line((l) => l.progress && lg.lines.indexOf(l) > lg.lines.indexOf(ready)));
  assert.deepEqual([idle.held, idle.stalled, idle.events, idle.latency_us], [10, 10, 0, []]);

  // One event to "all", stamped 5 ms before now on the load generator's clock (CLOCK_MONOTONIC,
  // which is what process.hrtime reads on Linux).
  const stamp = process.hrtime.bigint() - 5_000_000n;
  const response = await fetch(`${server.url}/api/v1/emit`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ room: 'all', event: 'bench', data: { t: Number(stamp) } }),
  });
  assert.equal(response.status, 202);
  const busy = await within(20000, 'progress with the events', lg.line((l) => l.progress && l.events === 10));
  const buckets = busy.latency_us;
  assert.equal(buckets.reduce((total, [, count]) => total + count, 0), 10);
  for (const [value] of buckets) assert.equal(value >= 5000, true, `latency ${value} µs below the 5 ms stamped`);
  assert.equal(busy.last_event_ns > Number(stamp), true);

  lg.interrupt();
  const report = await within(20000, 'report', lg.line((l) => 'clients' in l));
  assert.equal(report.events, 10);
  assert.equal(report.stalled, 10);
  lg.release();
  assert.equal(await within(20000, 'exit', lg.exited), 1, 'not every client was held: exit code 1');
});

test('publish with several --url: its connections go round-robin over them', async (t) => {
  // One client on each server (the stand-in keeps the first client of two).
  const servers = [await startStandin('drop'), await startStandin('drop')];
  t.after(() => Promise.all(servers.map((s) => s.stop())));
  const lgs = servers.map((s) => loadgen(['clients', '--url', s.url, '--secret', 's', '--count', '1',
    '--expect-events', '2', '--timeout', '600']));
  t.after(() => lgs.forEach((lg) => lg.kill()));
  for (const lg of lgs) assert.equal((await within(60000, 'ready line', lg.line((l) => 'ready' in l))).held, 1);

  // Four events over four connections: connections 0 and 2 publish to the first server, 1 and 3
  // to the second, so each client gets two.
  const pub = loadgen(['publish', '--url', servers[0].url, '--url', servers[1].url, '--api-key', 'k', '--events',
    '4', '--connections', '4', '--room', 'all']);
  t.after(() => pub.kill());
  const published = await within(60000, 'publisher report', pub.line((l) => 'accepted' in l));
  assert.equal(published.accepted, 4);
  for (const lg of lgs) {
    const report = await within(60000, 'report', lg.line((l) => 'clients' in l));
    assert.equal(report.events, 2);
  }
});
