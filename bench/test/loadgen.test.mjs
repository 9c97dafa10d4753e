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
