// What nudged says to a person at its first start: the program's name first, "did you mean"
// for a mistyped flag, --version, a taken port with its likely cause and the fix (no Boost
// source paths), and with --dev each connect and each refused token at info.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { promisify } from 'node:util';
import {
  NUDGED_BIN, startHub, seedClient, connected, connectError, token, mintToken, eventually, emit,
} from './lib/hub.mjs';

const run = promisify(execFile);

test('a mistyped flag: exit 2, "nudged:" first, the flag it is near, not its value', async () => {
  await assert.rejects(run(NUDGED_BIN, ['--dev', '--prot', '18080']), (error) => {
    assert.equal(error.code, 2);
    assert.equal(error.stderr, "nudged: unknown flag --prot (did you mean --port?)\nrun 'nudged --help' for the flags\n");
    return true;
  });
  await assert.rejects(run(NUDGED_BIN, ['--dev', '--jwt-secert=x', '--colour']), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /^nudged: unknown flag --jwt-secert \(did you mean --jwt-secret\?\)\nnudged: unknown flag --colour\n/);
    return true;
  });
  // Other command-line errors keep CLI11's words, after the program's name.
  await assert.rejects(run(NUDGED_BIN, ['--dev', '--port', 'eighty']), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /^nudged: .*--port/);
    return true;
  });
});

test('--version prints the version and exits 0', async () => {
  const { stdout } = await run(NUDGED_BIN, ['--version']);
  assert.match(stdout, /^nudged \d+\.\d+\.\d+\n$/);
});

test('a port in use: the likely cause and the fix, no source paths, exit 1', async () => {
  const taken = createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  const { port } = taken.address();
  try {
    await assert.rejects(run(NUDGED_BIN, ['--dev', '--port', String(port)]), (error) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, new RegExp(`nudged: cannot listen on 127\\.0\\.0\\.1:${port}: Address already in use\\n`));
      assert.match(error.stderr, /nudged: another program already listens on port \d+ \(often a nudged from `make run` or `make demo` still running.*\); stop it or choose another port with --port\n/);
      assert.doesNotMatch(error.stderr, /\/usr\/include|boost|system:98/);
      return true;
    });
    await assert.rejects(run(NUDGED_BIN, ['--dev', '--port', '0', '--metrics-port', String(port)]), (error) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, /cannot listen on 127\.0\.0\.1:\d+ for metrics: Address already in use\n.*--metrics-port/s);
      return true;
    });
  } finally {
    taken.close();
  }
});

test('--dev logs each connect and each refused token at info; without it they stay at debug', async () => {
  for (const dev of [true, false]) {
    const hub = await startHub({ args: dev ? ['--dev'] : [] });
    try {
      const socket = await connected(seedClient(hub.url, token('first-hour')));
      const refused = seedClient(hub.url, mintToken({ secret: 'not-the-secret-of-this-hub-at-all', sub: '2' }));
      await connectError(refused);
      refused.close();
      socket.disconnect();
      if (dev) {
        await eventually(() => /client connected user=first-hour/.test(hub.output()) && /auth refused reason=bad_signature/.test(hub.output()));
      } else {
        // A marker logged at warn after both: had they been logged, they would come before it.
        assert.equal((await emit(hub, { room: 'a', event: 'e' }, { apiKey: 'not-the-api-key-of-this-hub' })).status, 401);
        await eventually(() => /api key rejected/.test(hub.output()));
        assert.doesNotMatch(hub.output(), /client connected|auth refused/);
      }
    } finally {
      await hub.stop();
    }
  }
});
