// Graceful shutdown that both python-socketio and socket.io-client survive: SIGTERM the hub,
// start a new one on the same port, and both come back and receive events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  startHub, seedClient, token, connected, emit, eventually, freePort, nextEvent, SLOW,
} from './lib/hub.mjs';

const PYTHON_CLIENT = fileURLToPath(new URL('./lib/python_client.py', import.meta.url));

function startPythonClient(url, authToken, events) {
  const child = spawn('/usr/bin/python3', [PYTHON_CLIENT, url, authToken, ...events], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const records = [];
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => records.push(JSON.parse(line)));
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  return {
    child,
    records,
    stderr: () => stderr,
    count: (type) => records.filter((r) => r.type === type).length,
    events: (name) => records.filter((r) => r.type === 'event' && r.name === name),
  };
}

test('SIGTERM, then a new hub on the same port: python-socketio and socket.io-client both reconnect', async () => {
  const port = await freePort();
  let hub = await startHub({ port });
  const python = startPythonClient(hub.url, token('py'), ['before', 'after']);
  const js = await connected(seedClient(hub.url, token('js')));
  try {
    await eventually(() => python.count('connect') === 1, { timeoutMs: 15000 * SLOW })
      .catch((e) => { throw new Error(`${e.message}\n${python.stderr()}`); });
    const jsBefore = nextEvent(js, 'before');
    assert.equal((await emit(hub, { events: [
      { room: 'user_py', event: 'before', data: 1 }, { room: 'user_js', event: 'before', data: 1 },
    ] })).status, 202);
    await jsBefore;
    await eventually(() => python.events('before').length === 1);

    const jsBack = new Promise((resolve) => js.io.once('reconnect', resolve));
    const jsReason = new Promise((resolve) => js.once('disconnect', resolve));
    const { code } = await hub.stop('SIGTERM');
    assert.equal(code, 0);
    assert.equal(await jsReason, 'transport close');
    await eventually(() => python.count('disconnect') === 1);
    hub = await startHub({ port });

    await jsBack;
    await eventually(() => python.count('connect') === 2, { timeoutMs: 15000 * SLOW })
      .catch((e) => { throw new Error(`python-socketio did not reconnect: ${e.message}\n${python.stderr()}`); });
    await eventually(async () => (await fetch(`${hub.url}/metrics`)).text().then((t) => /^nudge_sessions 2$/m.test(t)));
    const jsAfter = nextEvent(js, 'after');
    assert.equal((await emit(hub, { events: [
      { room: 'user_py', event: 'after', data: 2 }, { room: 'user_js', event: 'after', data: 2 },
    ] })).status, 202);
    assert.deepEqual(await jsAfter, [2]);
    await eventually(() => python.events('after').length === 1);
    assert.equal(python.events('after')[0].data, 2);
  } finally {
    python.child.kill('SIGTERM');
    js.disconnect();
    await hub.stop();
  }
});
